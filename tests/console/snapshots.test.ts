// Last-known inventory in a real browser: a real console (HTTPS, Next.js UI, API, socket.io),
// the real companion CLI with its UniFi inform server on 127.0.0.1 and six simulated devices
// (adopted automatically). When the companion stops, it uploads a final sealed snapshot; the
// Overview then says the site is offline and shows the last-known inventory, which the browser
// verified (instance signature) and opened (the admin's box key) itself. The console served
// only sealed bytes: no MAC of any device appears in any API response the page received.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { decodeEnrollment } from "@veil/protocol";
import { startSimulator, type SimulatorHandle } from "../../apps/simulator/src/index";
import { chromiumAvailable } from "../support/chromium.js";
import { BrowserSuite, PASSWORD, screenshot, unnamedControls } from "./harness";
import { addInstance, enrollFrom, openInstance, signUpAdmin, Site } from "./site";

const DEVICES = 6;
const suite = new BrowserSuite();
const site = new Site();
let sim: SimulatorHandle | undefined;

/** The inform port the companion logged ("device servers listening"). */
async function informPortOf(output: () => string, exited: () => boolean): Promise<number> {
  const start = Date.now();
  for (;;) {
    const m = /"informPort":(\d+)/.exec(output());
    if (m?.[1]) return Number(m[1]);
    if (exited() || Date.now() - start > 60_000)
      throw new Error(`companion did not report its inform port:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Chromium is Debian's /usr/bin/chromium; without it there is no browser to drive.
describe.skipIf(!chromiumAvailable)("last-known inventory on the Overview after the companion stops", () => {
  beforeAll(async () => {
    await suite.open();
  });
  afterAll(async () => {
    await sim?.stop();
    await site.close();
    await suite.close();
  });

  test("the companion's final sealed snapshot is opened in the browser: 'Last known, site offline since …'", async () => {
    const { page, errors } = suite.main;
    const url = suite.consoleServer.url;
    const bodies: string[] = [];
    page.on("response", (r) => {
      if (new URL(r.url()).pathname.startsWith("/api/"))
        void r.text().then(
          (t) => bodies.push(t),
          () => undefined,
        );
    });
    await signUpAdmin(page, url, "snapshots@example.test", PASSWORD);
    const { line } = await addInstance(page, "Warehouse");
    const instanceId = decodeEnrollment(enrollFrom(line)).instanceId;
    const { running } = await site.enrollAndRun(line, {
      VEIL_INFORM_PORT: "0",
      VEIL_DEVICE_CHANNEL_PORT: "0",
      VEIL_DEVICE_BIND: "127.0.0.1",
      VEIL_DEVICE_PUBLIC_HOST: "127.0.0.1",
      VEIL_INFORM_INTERVAL: "1",
      VEIL_DEVICE_AUTO_ADOPT: "true",
      VEIL_SCAN_RANGES: "127.0.0.0/24",
    });
    const informPort = await informPortOf(running.output, () => running.child.exitCode !== null);
    await openInstance(page, url, instanceId);
    await page.getByTestId("last-known-card").waitFor();
    sim = await startSimulator({
      devices: DEVICES,
      seed: 61,
      informUrl: `http://127.0.0.1:${informPort}/inform`,
      admin: false,
      discovery: "off",
      timeScale: 1,
      startSpreadMs: 1000,
      rebootMs: 600_000,
      faultRate: 0,
    });
    // Every device has informed several times: adopted (default key, then its own) and online.
    await expect.poll(() => sim?.stats().informsSent ?? 0, { timeout: 30_000 }).toBeGreaterThan(DEVICES * 6);

    running.child.kill("SIGTERM");
    expect(await running.exit, running.output()).toBe(0);
    expect(running.output()).toContain("snapshot uploaded");
    await expect
      .poll(() => page.getByTestId("last-known-offline").textContent(), { timeout: 30_000 })
      .toMatch(/^Last known, site offline since /);
    await expect
      .poll(() => page.getByTestId("last-known-count").textContent(), { timeout: 10_000 })
      .toBe(`${DEVICES} (${DEVICES} online, 0 offline, 0 pending)`);
    await screenshot(page, "snapshots-01-last-known");
    expect(await unnamedControls(page)).toEqual([]);

    // What the console served was sealed: not one simulated MAC in any API response.
    const served = bodies.join("\n");
    expect(served).toContain('"snapshot"');
    for (const d of sim.devices) expect(served.toLowerCase()).not.toContain(d.mac.toLowerCase());
    expect(errors.filter((e) => !/status of 404 \(Not Found\)$/.test(e))).toEqual([]);
  });
});
