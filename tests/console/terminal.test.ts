// The device terminal end to end in a real browser: a real console (HTTPS, Next.js UI, socket.io
// relay), the real companion CLI (from source) with its Veil device channel on 127.0.0.1, and
// simulated devices (apps/simulator, in this process) that connect with the site key and are
// adopted on the channel. The admin opens the terminal page of one device, types commands into
// the xterm.js screen, reads the device's answers from the screen, and closes the terminal; a
// UniFi device's terminal page says why it has none. Keystrokes and output travel browser ↔
// companion inside the Noise session, then companion ↔ device inside the AES-GCM device channel.
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { decodeEnrollment } from "@veil/protocol";
import { encodeSiteKey } from "../../packages/devices/src/site-key";
import { startSimulator, type SimulatorHandle } from "../../apps/simulator/src/index";
import { scanRecords } from "../../apps/companion/src/devices/store/record-framing";
import { DEVICE_TLS_FILE } from "../../apps/companion/src/devices/tls-identity";
import { chromiumAvailable } from "../support/chromium.js";
import { BrowserSuite, PASSWORD, screenshot, unnamedControls, watchedPage } from "./harness";
import {
  addInstance,
  confirmSigner,
  enrollFrom,
  grantFromCard,
  inviteColleague,
  openInstance,
  signUpAdmin,
  Site,
  withStepUp,
  type Companion,
} from "./site";

const EMAIL = "terminal@example.test";
const VIEWER = "terminal-viewer@example.test";
const VIEWER_PASSWORD = "compiler moth harbour seventeen";

const suite = new BrowserSuite();
const site = new Site();
const sims: SimulatorHandle[] = [];
let running: Companion;
let stateDir = "";
let instanceId = "";

/** A number the companion logged as `"name":<n>` ("device servers listening"). */
async function loggedPort(c: Companion, name: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    const m = new RegExp(`"${name}":(\\d+)`).exec(c.output());
    if (m?.[1]) return Number(m[1]);
    if (c.child.exitCode !== null || Date.now() - start > 60_000)
      throw new Error(`companion did not report ${name}:\n${c.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The site key, read on the site host from the companion's own state (as the operator of the
 * host could): the newest site-key record of the device store, the channel's certificate and its
 * port. (The browser shows no site key; `siteKey.get` is an admin request the UI does not make.)
 */
/** The file's bytes, or none when the store rotated it away between the listing and the read. */
function readIfThere(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw error;
  }
}

async function siteKeyFromState(dir: string, channelPort: number): Promise<string> {
  const start = Date.now();
  for (;;) {
    const records = readdirSync(dir)
      .filter((f) => /^devices\.(snap|\d+\.log)$/.test(f))
      .sort((a, b) => (a.endsWith(".snap") ? -1 : b.endsWith(".snap") ? 1 : a.localeCompare(b)))
      .flatMap((f) => scanRecords(readIfThere(join(dir, f))).records) as { t?: string; id?: string; k?: string }[];
    const entry = records.filter((r) => r.t === "site" && r.id && r.k).at(-1);
    if (entry?.id && entry.k) {
      const tls = JSON.parse(readFileSync(join(dir, DEVICE_TLS_FILE), "utf8")) as { certPem: string };
      return encodeSiteKey({
        url: `wss://127.0.0.1:${channelPort}/devices`,
        keyId: new Uint8Array(Buffer.from(entry.id, "hex")),
        key: new Uint8Array(Buffer.from(entry.k, "base64url")),
        certFingerprint: new Uint8Array(
          Buffer.from(new X509Certificate(tls.certPem).fingerprint256.replaceAll(":", ""), "hex"),
        ),
      });
    }
    if (Date.now() - start > 30_000) throw new Error("no site key in the companion's device store");
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The text on the xterm.js screen (its DOM renderer's rows). */
const screenText = (page: Page): Promise<string> =>
  page
    .getByTestId("terminal-screen")
    .locator(".xterm-rows")
    .evaluate((el) => Array.from(el.children, (row) => row.textContent ?? "").join("\n"));

describe.skipIf(!chromiumAvailable)("device terminal in Chromium with a real companion and simulated devices", () => {
  beforeAll(async () => {
    await suite.open();
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
    await site.close();
    await suite.close();
  });

  test("the admin opens a shell on a device, types `uname -a` and `help`, reads the answers, and closes it", async () => {
    const { page, errors } = suite.main;
    const url = suite.consoleServer.url;
    await signUpAdmin(page, url, EMAIL, PASSWORD);
    const { line } = await addInstance(page, "Terminal site");
    instanceId = decodeEnrollment(enrollFrom(line)).instanceId;
    ({ running, dir: stateDir } = await site.enrollAndRun(line, {
      VEIL_INFORM_PORT: "0",
      VEIL_DEVICE_CHANNEL_PORT: "0",
      VEIL_DEVICE_BIND: "127.0.0.1",
      VEIL_DEVICE_PUBLIC_HOST: "127.0.0.1",
      VEIL_INFORM_INTERVAL: "2",
      VEIL_SCAN_RANGES: "127.0.0.0/24",
    }));
    const channelPort = await loggedPort(running, "channelPort");
    const siteKey = await siteKeyFromState(stateDir, channelPort);
    const common = { admin: false, discovery: "off", timeScale: 1, startSpreadMs: 500, faultRate: 0 } as const;
    const veil = await startSimulator({ ...common, devices: 2, seed: 71, siteKey, rebootMs: 5000 });
    sims.push(veil);
    const device = veil.devices[0];
    if (!device) throw new Error("no device");
    // The device's own key replaced the site key, and the companion welcomed it back under that
    // key: only then does it count the device as adopted (the device reconnects ~0.5–1 s after
    // the key arrives, and a fast browser could ask for a terminal in between).
    await expect.poll(() => device.veil.deviceKey?.type, { timeout: 30_000 }).toBe("device");
    await expect.poll(() => device.veil.welcomed, { timeout: 30_000 }).toBe(true);

    await openInstance(page, url, instanceId);
    await page.goto(`${url}/instances/${instanceId}/terminal/${device.mac}`);
    const status = page.getByTestId("terminal-status");
    await expect.poll(() => status.getAttribute("data-state"), { timeout: 30_000 }).toBe("open");
    expect(await status.textContent()).toContain(`Connected to ${device.mac}`);
    await expect.poll(() => screenText(page), { timeout: 15_000 }).toContain(`${device.hostname}#`);
    expect(await screenText(page)).toContain("BusyBox");

    // Keystrokes into the emulator (focused on open), echoed by the device's shell.
    await page.getByTestId("terminal-screen").click();
    await page.keyboard.type("uname -a");
    await page.keyboard.press("Enter");
    await expect.poll(() => screenText(page), { timeout: 15_000 }).toContain(`Linux ${device.hostname} 4.4.153`);
    await page.keyboard.type("help");
    await page.keyboard.press("Enter");
    await expect.poll(() => screenText(page), { timeout: 15_000 }).toContain("commands: help, uname");
    await screenshot(page, "terminal-01-shell");
    expect(await unnamedControls(page)).toEqual([]);

    await page.getByRole("button", { name: "Close terminal" }).click();
    await expect.poll(() => status.getAttribute("data-state"), { timeout: 15_000 }).toBe("closed");
    const closed = (await status.textContent()) ?? "";
    expect(closed).toContain("Terminal closed: closed.");
    // 8 + 1 + 4 + 1 bytes typed.
    expect(closed).toContain("Sent 14 B");
    await expect.poll(() => veil.stats().terminalsOpen, { timeout: 10_000 }).toBe(0);
    // The companion logged the open and the close with the byte counts, never the keystrokes.
    await expect.poll(() => running.output(), { timeout: 10_000 }).toContain('"msg":"terminal closed"');
    expect(running.output()).toMatch(/"msg":"terminal closed".*"bytesIn":14/);
    expect(running.output()).not.toContain("uname");
    await screenshot(page, "terminal-02-closed");

    // A new terminal on the same page works again.
    await page.getByRole("button", { name: "Open a new terminal" }).click();
    await expect.poll(() => status.getAttribute("data-state"), { timeout: 15_000 }).toBe("open");
    expect(errors).toEqual([]);
  });

  test("a UniFi device's terminal page says why it has no terminal", async () => {
    const { page, errors } = suite.main;
    const informPort = await loggedPort(running, "informPort");
    const unifi = await startSimulator({
      devices: 1,
      seed: 72,
      informUrl: `http://127.0.0.1:${informPort}/inform`,
      admin: false,
      discovery: "off",
      timeScale: 1,
      startSpreadMs: 200,
      rebootMs: 5000,
      faultRate: 0,
    });
    sims.push(unifi);
    const mac = unifi.devices[0]?.mac ?? "";
    // The device is in the inventory once its first inform arrived (pending, UniFi default key).
    await new Promise((r) => setTimeout(r, 3000));
    await page.goto(`${suite.consoleServer.url}/instances/${instanceId}/terminal/${mac}`);
    const status = page.getByTestId("terminal-status");
    await expect.poll(() => status.getAttribute("data-state"), { timeout: 30_000 }).toBe("failed");
    expect(await status.textContent()).toContain("UniFi inform");
    await screenshot(page, "terminal-03-unifi");
    expect(await unnamedControls(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  test("a viewer's terminal page explains why there is no terminal; the admin then revokes the viewer's grant", async () => {
    const { page, errors } = suite.main;
    const url = suite.consoleServer.url;
    // Invite a colleague as a console viewer; they sign up in another tab and show their key card.
    const viewer = await watchedPage(suite.context);
    const card = await inviteColleague(page, PASSWORD, viewer.page, {
      email: VIEWER,
      password: VIEWER_PASSWORD,
      role: "viewer",
    });
    // The admin grants the instance to them with the viewer role.
    await grantFromCard(page, PASSWORD, { consoleUrl: url, instanceId, card, email: VIEWER, role: "viewer" });

    const mac = sims[0]?.devices[1]?.mac ?? "";
    await viewer.page.goto(`${url}/instances/${instanceId}/terminal/${mac}`);
    // Signer pins are per account: the viewer, though in the admin's browser profile, compares
    // the signer's code with the admin's own (on the admin's instance page) and confirms it.
    await confirmSigner(viewer.page, (await page.getByTestId("signer-safety-code").textContent()) ?? "");
    const forbidden = viewer.page.getByTestId("terminal-forbidden");
    await expect.poll(() => forbidden.textContent(), { timeout: 30_000 }).toContain("(viewer) cannot open a terminal");
    expect(await viewer.page.getByTestId("terminal-screen").count()).toBe(0);
    expect(sims[0]?.stats().terminalsOpen).toBe(0);
    await screenshot(viewer.page, "terminal-04-viewer");
    expect(await unnamedControls(viewer.page)).toEqual([]);
    expect(viewer.errors).toEqual([]);

    // The admin revokes that grant before it expires, from the grants card: the companion
    // records it end to end first, then the console drops the row (after step-up).
    await openInstance(page, url, instanceId);
    const row = page.getByTestId("grants").locator("tr", { hasText: VIEWER });
    page.once("dialog", (d) => void d.accept());
    await row.getByTestId("grant-revoke").click();
    await withStepUp(
      page,
      PASSWORD,
      async () => !((await page.getByTestId("grants").textContent()) ?? "").includes(VIEWER),
    );
    // The companion recorded it in its own state (what refuses the grant if a console serves it again).
    const revocations = JSON.parse(readFileSync(join(stateDir, "revocations.json"), "utf8")) as Record<string, number>;
    expect(Object.keys(revocations)).toHaveLength(1);
    // The viewer no longer has the instance.
    await viewer.page.goto(`${url}/instances`);
    await expect
      .poll(() => viewer.page.locator(`tr[data-instance-id="${instanceId}"]`).count(), { timeout: 30_000 })
      .toBe(0);
    // The step-up prompt comes from a 401 that Chromium logs; nothing else may appear.
    expect(errors.filter((e) => !e.includes("status of 401"))).toEqual([]);
  });
});
