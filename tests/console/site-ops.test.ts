// Discovery, adoption and the credentials vault in a real browser (issue 6): a real console
// (HTTPS, Next.js UI, relay, PGlite), Debian's Chromium for the admin, the real companion CLI
// with VEIL_SCAN_RANGES naming the simulator's 127.0.66.0/24, and a device simulator with its
// HTTPS management API on :443 and one UBDP responder per device on :10001 (the real ports the
// companion uses, which is why this suite needs root; see the skipIf below). Everything the
// browser asks travels end to end; the console relays ciphertext.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { decodeEnrollment } from "@veil/protocol";
import type { Page } from "playwright-core";
import { startSimulator, type SimulatorHandle } from "../../apps/simulator/src/index";
import { chromiumAvailable } from "../support/chromium.js";
import { BrowserSuite, PASSWORD, screenshot, unnamedControls } from "./harness";
import { addInstance, enrollFrom, signUpAdmin, Site, waitForInstanceStatus, type Companion } from "./site";

const EMAIL = "site-ops@example.test";
const FACTORY_USER = "ubnt";
const FACTORY_PASSWORD = "Factory-Once-5e8d21c7";
const COMPANION_ENV = {
  VEIL_SCAN_RANGES: "127.0.66.0/24",
  VEIL_INFORM_PORT: "0",
  VEIL_DEVICE_CHANNEL_PORT: "0",
  VEIL_DEVICE_BIND: "127.0.0.1",
};
/** Binding :443 needs root (or CAP_NET_BIND_SERVICE); the companion's HTTPS probe and adoption use 443. */
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The forms a secret could take in a file or a table. */
const forms = (s: string): string[] => [
  s,
  Buffer.from(s).toString("base64"),
  Buffer.from(s).toString("base64url"),
  Buffer.from(s).toString("hex"),
];

/** Waits for the step-up dialog and answers it with the account password. */
async function answerStepUp(page: Page): Promise<void> {
  const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
  await dialog.waitFor({ timeout: 15_000 });
  await dialog.getByLabel("Password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await dialog.waitFor({ state: "detached", timeout: 60_000 });
}

describe.skipIf(!chromiumAvailable || !isRoot)("discovery, adoption and the vault in Chromium", () => {
  const suite = new BrowserSuite();
  const site = new Site();
  let sim: SimulatorHandle;
  let running: Companion;
  let stateDir = "";
  let instanceId = "";
  let keyFilePath = "";
  let masterPassword = "";
  const adopted: string[] = [];
  const notFound: string[] = [];

  const page = (): Page => suite.main.page;
  const vaultState = () => page().getByTestId("vault-state").getAttribute("data-state");
  /** Opens a tab of the instance and waits until its E2E session is open (a control that needs it shows). */
  const openTab = async (tab: "discovery" | "vault") => {
    await page().goto(`${suite.consoleServer.url}/instances/${instanceId}/${tab}`);
    const ready =
      tab === "discovery" ? page().getByRole("button", { name: "Start discovery" }) : page().getByTestId("vault-state");
    await ready.waitFor({ timeout: 60_000 }).catch(async (e: unknown) => {
      await screenshot(page(), `site-ops-${tab}-no-session`);
      throw e;
    });
  };
  /** A 3-second unicast scan of the site's range, finished; returns the page. */
  const quickScan = async (): Promise<Page> => {
    await openTab("discovery");
    const p = page();
    await p.getByLabel("Also broadcast and multicast").uncheck();
    await p.getByLabel("Duration (seconds)").fill("3");
    await p.getByRole("button", { name: "Start discovery" }).click();
    await expect.poll(() => p.getByTestId("scan-status").getAttribute("data-status"), { timeout: 30_000 }).toBe("done");
    return p;
  };
  const unlockAlert = () => page().getByRole("form", { name: "Unlock the vault" }).getByRole("alert");

  beforeAll(async () => {
    [sim] = await Promise.all([
      startSimulator({
        devices: 4,
        seed: 66,
        firstAddress: "127.0.66.2",
        discovery: "per-device",
        discoveryPort: 10001,
        adminPort: 443,
        username: FACTORY_USER,
        password: FACTORY_PASSWORD,
        faultRate: 0,
        startSpreadMs: 0,
      }),
      suite.open(),
    ]);
    suite.main.page.on("response", (r) => {
      if (r.status() === 404) notFound.push(new URL(r.url()).pathname);
    });
  }, 120_000);

  afterAll(async () => {
    await site.close();
    await sim?.stop();
    await suite.close();
  });

  test("the admin signs up, adds an instance and runs its companion", async () => {
    await signUpAdmin(page(), suite.consoleServer.url, EMAIL, PASSWORD);
    const { line } = await addInstance(page(), "Depot");
    instanceId = decodeEnrollment(enrollFrom(line)).instanceId;
    const started = await site.enrollAndRun(line, COMPANION_ENV);
    running = started.running;
    stateDir = started.dir;
    await waitForInstanceStatus(page(), instanceId, "online");
  }, 180_000);

  test("discovery: an out-of-scope target is refused, then the site's range streams every device", async () => {
    await openTab("discovery");
    const p = page();
    await p.getByLabel("Limit to (optional)").fill("169.254.169.254");
    await p.getByLabel("Also broadcast and multicast").uncheck();
    await p.getByRole("button", { name: "Start discovery" }).click();
    const refused = p.getByTestId("scan-refused");
    await refused.waitFor({ timeout: 30_000 });
    expect(await refused.textContent()).toContain("cloud metadata address");

    await p.getByLabel("Limit to (optional)").fill("");
    await p.getByLabel("Duration (seconds)").fill("12");
    await p.getByRole("button", { name: "Start discovery" }).click();
    const rows = p.locator('[data-testid="discovered-devices"] tbody tr');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(sim.devices.length);
    // Every device arrived while the scan was still running: results stream, they are not batched at the end.
    expect(await p.getByTestId("scan-status").getAttribute("data-status")).toBe("running");
    expect(await p.getByTestId("scan-status").textContent()).toContain("Scanning 254 hosts");
    for (const d of sim.devices) {
      const row = p.locator(`tr[data-mac="${d.mac}"]`).first();
      const text = (await row.textContent()) ?? "";
      for (const v of [d.ip, d.firmware, d.hostname]) expect(text).toContain(v);
      expect(await row.getAttribute("data-adopted")).toBe("false");
    }
    await expect.poll(() => p.getByTestId("scan-status").getAttribute("data-status"), { timeout: 30_000 }).toBe("done");
    await screenshot(p, "site-ops-01-discovery");
    expect(await unnamedControls(p)).toEqual([]);
  }, 120_000);

  test("adoption of three devices with the factory credentials, end to end, used once", async () => {
    const p = page();
    for (const d of sim.devices.slice(0, 3)) await p.getByLabel(`Select ${d.hostname}`).check();
    adopted.push(...sim.devices.slice(0, 2).map((d) => d.mac));
    await p.getByLabel("Device user name").fill(FACTORY_USER);
    await p.getByLabel("Device password").fill(FACTORY_PASSWORD);
    await p.getByRole("button", { name: "Adopt 3 devices" }).click();
    expect(await p.getByLabel("Device password").inputValue()).toBe("");
    const progress = p.getByTestId("adoption-progress");
    await expect.poll(() => progress.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    for (const d of sim.devices.slice(0, 3)) {
      const row = progress.locator(`tr[data-mac="${d.mac}"]`);
      expect(await row.getAttribute("data-result")).toBe("done");
      expect(await row.textContent()).toContain("pinned now");
    }
    await screenshot(p, "site-ops-02-adopted");

    // The typed credentials are in no file of the companion's state folder and no console table.
    const needles = forms(FACTORY_PASSWORD);
    for (const file of filesUnder(stateDir)) {
      const text = readFileSync(file).toString("latin1");
      for (const n of needles) expect(text.includes(n), `${file} holds the credential`).toBe(false);
    }
    const client = (
      suite.consoleServer.running.database.db as unknown as {
        $client: { query(q: string): Promise<{ rows: Record<string, unknown>[] }> };
      }
    ).$client;
    const tables = (
      await client.query(
        "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
      )
    ).rows.map((r) => String(r.table_name));
    expect(tables.length).toBeGreaterThan(3);
    for (const t of tables) {
      const dump = JSON.stringify((await client.query(`select * from "${t}"`)).rows);
      for (const n of needles) expect(dump.includes(n), `table ${t} holds the credential`).toBe(false);
    }
    for (const file of filesUnder(suite.consoleServer.running.config.dataDir)) {
      const text = readFileSync(file).toString("latin1");
      for (const n of needles) expect(text.includes(n), `${file} holds the credential`).toBe(false);
    }
    for (const b of suite.main.apiBodies) expect(b.body).not.toContain(FACTORY_PASSWORD);
    expect(running.output()).not.toContain(FACTORY_PASSWORD);
  }, 120_000);

  test("vault: created in the browser — key file downloaded, master password shown once", async () => {
    await openTab("vault");
    const p = page();
    await expect.poll(vaultState, { timeout: 30_000 }).toBe("none");
    await p.getByRole("button", { name: "Create the vault" }).click();
    const shown = p.getByTestId("master-password");
    await shown.waitFor({ timeout: 120_000 });
    masterPassword = ((await shown.textContent()) ?? "").trim();
    expect(masterPassword).toMatch(/^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$/);
    const [download] = await Promise.all([p.waitForEvent("download"), p.getByTestId("vault-key-download").click()]);
    keyFilePath = join(site.stateDir(), download.suggestedFilename());
    await download.saveAs(keyFilePath);
    const file = JSON.parse(readFileSync(keyFilePath, "utf8")) as Record<string, unknown>;
    expect(file).toMatchObject({ format: "veil-vault-key", version: 1, instanceId, kdf: { alg: "argon2id" } });
    expect(JSON.stringify(file)).not.toContain(masterPassword);
    await screenshot(p, "site-ops-03-vault-key");
    expect(await unnamedControls(p)).toEqual([]);
    await p.getByLabel("I have saved the key file and the master password").check();
    await p.getByRole("button", { name: "Activate the vault" }).click();
    await expect.poll(vaultState, { timeout: 30_000 }).toBe("locked");
    expect(await p.content()).not.toContain(masterPassword);
    for (const b of suite.main.apiBodies) expect(b.body).not.toContain(masterPassword);
  }, 180_000);

  const unlock = async (path: string, password: string): Promise<void> => {
    const p = page();
    await p.getByLabel("Vault key file").setInputFiles(path);
    await p.getByLabel("Master password").fill(password);
    await p.getByRole("button", { name: "Unlock the vault" }).click();
  };

  test("unlock with the file and password; a companion restart locks it again", async () => {
    const p = page();
    await unlock(keyFilePath, masterPassword);
    await expect.poll(vaultState, { timeout: 120_000 }).toBe("unlocked");
    running.child.kill("SIGTERM");
    await running.exit;
    running = site.run("run", stateDir, COMPANION_ENV);
    await openTab("vault");
    await expect.poll(vaultState, { timeout: 60_000 }).toBe("locked");
    await screenshot(p, "site-ops-04-locked-after-restart");
  }, 240_000);

  test("bulk generation for the adopted devices works while the vault is locked", async () => {
    const p = page();
    await p.getByRole("button", { name: "Find devices to update" }).click();
    const table = p.getByRole("table", { name: "Devices for new credentials" });
    await expect.poll(() => table.locator("tbody tr").count(), { timeout: 30_000 }).toBe(sim.devices.length);
    for (const mac of adopted) await table.locator(`tr[data-mac="${mac}"] input[type="checkbox"]`).check();
    await p.getByLabel("Current user name (optional)").fill(FACTORY_USER);
    await p.getByLabel("Current password (optional)").fill(FACTORY_PASSWORD);
    await p.getByRole("button", { name: "Generate for 2 devices" }).click();
    const progress = p.getByTestId("generate-progress");
    await expect.poll(() => progress.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    for (const mac of adopted)
      expect(await progress.locator(`tr[data-mac="${mac}"]`).getAttribute("data-result")).toBe("done");
    const fresh = sim.devices.filter((d) => adopted.includes(d.mac)).map((d) => d.credentials.password);
    expect(new Set(fresh).size).toBe(2);
    for (const pw of fresh) {
      expect(pw).not.toBe(FACTORY_PASSWORD);
      expect(await p.content()).not.toContain(pw);
    }
    const entries = p.getByTestId("vault-entries");
    for (const mac of adopted)
      await expect
        .poll(() => entries.locator(`tr[data-target="${mac}"][data-state="active"]`).count(), { timeout: 15_000 })
        .toBe(1);
    expect(await vaultState()).toBe("locked");
    await screenshot(p, "site-ops-05-generated");
  }, 120_000);

  test("a changed device certificate is flagged and gets nothing; trusted re-adoption seals the login into the locked vault", async () => {
    const d = sim.devices[2];
    if (!d) throw new Error("no device 2");
    const fingerprint = await sim.rotateCertificate(d.mac);
    const p = await quickScan();
    const row = p.locator(`[data-testid="discovered-devices"] tr[data-mac="${d.mac}"]`);
    expect(await row.textContent()).toContain("Certificate changed since it was pinned");
    await p.getByLabel(`Select ${d.hostname}`).check();
    await expect.poll(() => p.getByTestId("cert-changed-warning").textContent()).toContain(d.mac);
    await p.getByLabel("Device user name").fill(FACTORY_USER);
    await p.getByLabel("Device password").fill(FACTORY_PASSWORD);
    const requestsBefore = sim.stats().adminRequests;
    await p.getByRole("button", { name: "Adopt 1 device" }).click();
    const progress = p.getByTestId("adoption-progress");
    await expect.poll(() => progress.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    const result = progress.locator(`tr[data-mac="${d.mac}"]`);
    expect(await result.getAttribute("data-result")).toBe("certificate_changed");
    expect(await result.textContent()).toContain("possible impersonation");
    // The device never saw a request: the pin check happens right after the TLS handshake.
    expect(sim.stats().adminRequests).toBe(requestsBefore);
    await screenshot(p, "site-ops-06-certificate-changed");

    await p.getByLabel("Device password").fill(FACTORY_PASSWORD);
    await p.getByLabel("Trust a changed device certificate and pin the new one").check();
    await p
      .getByLabel("Save these credentials to the vault (sealed on the site; works while the vault is locked)")
      .check();
    await p.getByRole("button", { name: "Adopt 1 device" }).click();
    await expect.poll(() => result.getAttribute("data-result"), { timeout: 60_000 }).toBe("done");
    expect(await result.textContent()).toContain("saved to the vault");
    expect(await result.textContent()).toContain(fingerprint.slice(0, 16));
    await openTab("vault");
    expect(await vaultState()).toBe("locked");
    await expect
      .poll(() => p.locator(`[data-testid="vault-entries"] tr[data-target="${d.mac}"]`).textContent(), {
        timeout: 15_000,
      })
      .toContain("adoption");

    // A group entry typed by hand is sealed on the site too, while the vault stays locked.
    const form = p.getByRole("form", { name: "Add a credential" });
    await form.getByLabel("A group").check();
    await form.getByLabel("Group name").fill("lab switches");
    await form.getByLabel("Label").fill("shared lab login");
    await form.getByLabel("User name").fill("labadmin");
    await form.getByLabel("Password").fill("Group-Secret-31f9a0");
    await form.getByLabel("Notes (sealed with the secret)").fill("rotate every quarter");
    await form.getByRole("button", { name: "Add to the vault" }).click();
    await expect
      .poll(() => p.locator('[data-testid="vault-entries"] tr[data-target="group lab switches"]').count(), {
        timeout: 15_000,
      })
      .toBe(1);
    expect(await form.getByLabel("Password").inputValue()).toBe("");
    expect(await p.content()).not.toContain("Group-Secret-31f9a0");
    expect(await vaultState()).toBe("locked");
  }, 180_000);

  test("a wrong master password and a tampered key file are refused in the browser; nothing is sent", async () => {
    const p = page();
    // What reached the companion: its audit log records every vault.unlock it was asked for.
    const unlockRequests = (): number =>
      readdirSync(stateDir)
        .filter((f) => /^audit-\d{12}\.jsonl$/.test(f))
        .flatMap((f) => readFileSync(join(stateDir, f), "utf8").split("\n"))
        .filter((line) => line.includes('"type":"vault.unlock"')).length;
    const unlocksBefore = unlockRequests();
    expect(unlocksBefore).toBeGreaterThan(0); // the earlier tests' unlocks are there
    await unlock(keyFilePath, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH");
    const alert = unlockAlert();
    await expect.poll(() => alert.textContent(), { timeout: 120_000 }).toContain("The master password is wrong");
    expect(await vaultState()).toBe("locked");

    const file = JSON.parse(readFileSync(keyFilePath, "utf8")) as { wrappedKey: string; publicKey: string };
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const tampered = join(site.stateDir(), "tampered.json");
    writeFileSync(tampered, JSON.stringify({ ...file, wrappedKey: flip(file.wrappedKey, 40) }));
    await unlock(tampered, masterPassword);
    await expect.poll(() => alert.textContent(), { timeout: 120_000 }).toContain("the key file was altered");
    const otherKey = join(site.stateDir(), "other-key.json");
    writeFileSync(otherKey, JSON.stringify({ ...file, publicKey: flip(file.publicKey, 10) }));
    await unlock(otherKey, masterPassword);
    await expect.poll(() => alert.textContent(), { timeout: 30_000 }).toContain("does not match this instance's vault");
    // A fresh path: Chromium refuses to read a chosen file that changed after it was picked.
    const notJson = join(site.stateDir(), "not-json.json");
    writeFileSync(notJson, "{ not json");
    await unlock(notJson, masterPassword);
    await expect.poll(() => alert.textContent(), { timeout: 30_000 }).toContain("not a vault key file");
    expect(await vaultState()).toBe("locked");
    expect(unlockRequests()).toBe(unlocksBefore);
    await screenshot(p, "site-ops-07-refused");
  }, 300_000);

  test("reveal after step-up, shown only in the browser and hidden again", async () => {
    const p = page();
    await unlock(keyFilePath, masterPassword);
    await expect.poll(vaultState, { timeout: 120_000 }).toBe("unlocked");
    const mac = adopted[0] ?? "";
    const secret = sim.devices.find((d) => d.mac === mac)?.credentials.password ?? "";
    expect(secret.length).toBeGreaterThanOrEqual(24);
    expect(await p.content()).not.toContain(secret);
    await p.getByRole("button", { name: `Reveal the credential for ${mac}` }).click();
    await answerStepUp(p);
    const revealed = p.getByTestId("revealed-password");
    await revealed.waitFor({ timeout: 30_000 });
    expect(await revealed.textContent()).toBe(secret);
    await screenshot(p, "site-ops-08-revealed");
    expect(await unnamedControls(p)).toEqual([]);
    // Nothing of it in a URL, web storage, or anything the page sent to the console.
    expect(p.url()).not.toContain(secret);
    const storage = await p.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(storage).not.toContain(secret);
    for (const b of suite.main.apiBodies) expect(b.body).not.toContain(secret);
    // Hidden again on its own after the reveal time.
    await revealed.waitFor({ state: "detached", timeout: 45_000 });
    expect(await p.content()).not.toContain(secret);
    // A companion restart closes the relay socket once, and Next prefetches the instance tabs:
    // the Audit tab's page belongs to another issue and may not exist yet (404). Nothing else.
    expect(notFound.filter((path) => !/^\/instances\/[^/]+\/audit$/.test(path))).toEqual([]);
    expect(
      suite.main.errors.filter(
        (e) => !/websocket|socket\.io/i.test(e) && !(/status of 404/.test(e) && notFound.length > 0),
      ),
    ).toEqual([]);
  }, 240_000);

  test("adoption with a vault entry: the unlocked vault sends the sealed login to the device it was saved for", async () => {
    const d = sim.devices[2];
    if (!d) throw new Error("no device 2");
    const p = await quickScan();
    await p.getByLabel(`Select ${d.hostname}`).check();
    await p.getByLabel("From the vault (needs it unlocked)").check();
    const option = p.locator("#adopt-entry option", { hasText: d.mac });
    await option.waitFor({ state: "attached", timeout: 15_000 });
    await p.getByLabel("Vault entry").selectOption((await option.getAttribute("value")) ?? "");
    await p.getByRole("button", { name: "Adopt 1 device" }).click();
    const progress = p.getByTestId("adoption-progress");
    await expect.poll(() => progress.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    expect(await progress.locator(`tr[data-mac="${d.mac}"]`).getAttribute("data-result")).toBe("done");
    expect(await p.content()).not.toContain(FACTORY_PASSWORD);
    expect(await unnamedControls(p)).toEqual([]);
    await screenshot(p, "site-ops-09-adopted-from-vault");
  }, 120_000);

  test("UniFi inform adoption: the authkey goes over the pinned connection, and the device's first inform is already under it", async () => {
    const d = sim.devices[3];
    if (!d) throw new Error("no device 3");
    const p = await quickScan();
    await p.getByLabel(`Select ${d.hostname}`).check();
    await p.getByLabel("UniFi inform (authkey sent over this pinned connection)").check();
    await p.getByLabel("Device user name").fill(FACTORY_USER);
    await p.getByLabel("Device password").fill(FACTORY_PASSWORD);
    const applied = sim.stats().repliesApplied;
    await p.getByRole("button", { name: "Adopt 1 device" }).click();
    const progress = p.getByTestId("adoption-progress");
    await expect.poll(() => progress.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    expect(await progress.locator(`tr[data-mac="${d.mac}"]`).getAttribute("data-result")).toBe("done");
    expect(d.unifi.informUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/inform$/);
    expect(d.unifi.authkey).toMatch(/^[0-9a-f]{32}$/);
    // The companion answers under the device's own key (it knew it before the first inform) …
    await expect.poll(() => sim.stats().repliesApplied, { timeout: 30_000 }).toBeGreaterThan(applied);
    // … and the devices page, which shows the companion's inventory, has it online (a device that
    // informed under the default key, or not at all, would be pending or missing).
    await page().goto(`${suite.consoleServer.url}/instances/${instanceId}/devices`);
    const status = page().locator(`[data-testid=device-row][data-mac="${d.mac}"] [data-testid=device-status]`);
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe("online");
    await screenshot(page(), "site-ops-10-unifi-inform-adopted");
  }, 120_000);

  test("an admin deletes an entry after confirming", async () => {
    await openTab("vault");
    const p = page();
    const row = p.locator('[data-testid="vault-entries"] tr[data-target="group lab switches"]');
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    p.once("dialog", (d) => void d.accept());
    await p.getByRole("button", { name: "Delete the credential for group lab switches" }).click();
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);
  }, 60_000);
});
