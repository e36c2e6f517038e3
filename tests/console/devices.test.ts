// The devices pages end to end in a real browser: a real console (HTTPS, Next.js UI, API,
// socket.io relay), the real companion CLI (from source) with its UniFi inform server on
// 127.0.0.1, and 50 simulated UniFi devices (apps/simulator, in this process) informing it
// every second and adopted automatically. The admin sees the 50 devices arrive in the list,
// searches and filters, opens one, sees its details and charts, reboots it from the page and
// watches it go offline and come back; then the companion stops and the page shows the
// last-known inventory from the companion's sealed snapshot.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { decodeEnrollment } from "@veil/protocol";
import { startSimulator, type SimulatorHandle } from "../../apps/simulator/src/index";
import { chromiumAvailable } from "../support/chromium.js";
import { BrowserSuite, newContext, PASSWORD, screenshot, unnamedControls, watchedPage } from "./harness";
import {
  addInstance,
  confirmSigner,
  enrollFrom,
  grantFromCard,
  inviteColleague,
  openInstance,
  signUpAdmin,
  Site,
  type Companion,
} from "./site";

const EMAIL = "devices@example.test";
const VIEWER = "devices-viewer@example.test";
const VIEWER_PASSWORD = "lantern orchid meadow 4417 quietly";
const DEVICES = 50;

const suite = new BrowserSuite();
const site = new Site();
let sim: SimulatorHandle | undefined;
let running: Companion;
let instanceId = "";
/** Everything the page and the console exchanged: socket.io frames both ways, /api/ responses. */
const wire: string[] = [];
/** Requests the console answered 401: only the step-up challenges of invitation and grant. */
const unauthorized: string[] = [];
/** Paths the console answered 404 (Next prefetches links; some tabs are other issues' pages). */
const notFound: string[] = [];

/**
 * Console errors, less the 404s of links Next prefetches to pages other issues build (the
 * instance's Audit tab, the device terminal) and the 401s that ask for step-up — and those
 * must be exactly such requests.
 */
function pageErrors(errors: readonly string[]): string[] {
  for (const path of notFound) expect(path).toMatch(/^\/instances\/[0-9a-f-]+\/(audit|terminal\/[0-9a-f:]+)$/);
  // The step-up prompt ("Confirm it's you") is the console answering 401 to a sensitive write.
  for (const call of unauthorized) expect(call).toMatch(/^POST \/api\/(invites|instances\/[0-9a-f-]+\/grants)$/);
  return errors.filter((e) => !/status of (404 \(Not Found\)|401 \(Unauthorized\))$/.test(e));
}

/** The console saw ciphertext only: no device MAC or host name in any frame, API body or response. */
function expectNothingInClear(sim: SimulatorHandle): void {
  expect(wire.length).toBeGreaterThan(100);
  const seen = [...wire, ...suite.main.apiBodies.map((b) => b.body)].join("\n");
  for (const d of sim.devices) {
    expect(seen.includes(d.mac), d.mac).toBe(false);
    expect(seen.includes(d.hostname), d.hostname).toBe(false);
  }
}

/** The inform port the companion logged ("device servers listening"). */
async function informPortOf(c: Companion): Promise<number> {
  const start = Date.now();
  for (;;) {
    const m = /"informPort":(\d+)/.exec(c.output());
    if (m?.[1]) return Number(m[1]);
    if (c.child.exitCode !== null || Date.now() - start > 60_000)
      throw new Error(`companion did not report its inform port:\n${c.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!chromiumAvailable)("devices pages in Chromium with a real companion and 50 simulated devices", () => {
  beforeAll(async () => {
    await suite.open();
    suite.main.page.on("response", (r) => {
      if (r.status() === 404) notFound.push(new URL(r.url()).pathname);
      if (r.status() === 401) unauthorized.push(`${r.request().method()} ${new URL(r.url()).pathname}`);
      if (new URL(r.url()).pathname.startsWith("/api/"))
        void r.text().then(
          (t) => wire.push(t),
          () => undefined,
        );
    });
    suite.main.page.on("websocket", (ws) => {
      ws.on("framesent", (f) => wire.push(String(f.payload)));
      ws.on("framereceived", (f) => wire.push(String(f.payload)));
    });
  });
  afterAll(async () => {
    await sim?.stop();
    await site.close();
    await suite.close();
  });

  test("the list fills with 50 live devices; search, status and model filters, sorting", async () => {
    const { page, errors } = suite.main;
    const url = suite.consoleServer.url;
    await signUpAdmin(page, url, EMAIL, PASSWORD);
    const { line } = await addInstance(page, "Branch office");
    instanceId = decodeEnrollment(enrollFrom(line)).instanceId;
    ({ running } = await site.enrollAndRun(line, {
      VEIL_INFORM_PORT: "0",
      VEIL_DEVICE_CHANNEL_PORT: "0",
      VEIL_DEVICE_BIND: "127.0.0.1",
      VEIL_DEVICE_PUBLIC_HOST: "127.0.0.1",
      VEIL_INFORM_INTERVAL: "1",
      VEIL_DEVICE_AUTO_ADOPT: "true",
      VEIL_SCAN_RANGES: "127.0.0.0/24",
    }));
    const informPort = await informPortOf(running);
    await openInstance(page, url, instanceId);

    // The devices tab before any device reported: live and empty.
    await page.getByRole("navigation", { name: "Instance" }).getByRole("link", { name: "Devices" }).click();
    await page.waitForURL(`**/instances/${instanceId}/devices`);
    await expect.poll(() => page.getByTestId("devices-live").textContent(), { timeout: 30_000 }).toBe("live");
    await expect.poll(() => page.getByTestId("devices-empty").textContent()).toContain("No devices");

    sim = await startSimulator({
      devices: DEVICES,
      seed: 51,
      informUrl: `http://127.0.0.1:${informPort}/inform`,
      admin: false,
      discovery: "off",
      timeScale: 1,
      startSpreadMs: 2000,
      rebootMs: 12_000,
      faultRate: 0,
    });
    // Every device arrives through the live watch (no reload) and is adopted: 50 online.
    await expect.poll(() => page.getByTestId("count-online").textContent(), { timeout: 45_000 }).toBe(String(DEVICES));
    expect(await page.getByTestId("count-shown").textContent()).toBe(String(DEVICES));
    expect(await page.getByTestId("device-table").getAttribute("aria-rowcount")).toBe(String(DEVICES + 1));
    // Windowed: fewer rows in the DOM than devices; the last one is reached by scrolling.
    const inDom = await page.getByTestId("device-row").count();
    expect(inDom).toBeGreaterThan(5);
    expect(inDom).toBeLessThan(DEVICES);
    await screenshot(page, "devices-01-list");

    // Search by the tail of one MAC: exactly that device.
    const target = sim.devices[7];
    if (!target) throw new Error("no device 7");
    await page.getByLabel("Search devices").fill(target.mac.slice(-8).replaceAll(":", "-"));
    await expect.poll(() => page.getByTestId("count-shown").textContent()).toBe("1");
    expect(await page.getByTestId("device-row").getAttribute("data-mac")).toBe(target.mac);
    // By IP.
    await page.getByLabel("Search devices").fill(target.ip);
    await expect.poll(() => page.locator(`[data-testid=device-row][data-mac="${target.mac}"]`).count()).toBe(1);
    await page.getByLabel("Search devices").fill("");

    // Status filter: all online, none offline.
    await page.getByLabel("Status").selectOption("offline");
    await expect.poll(() => page.getByTestId("count-shown").textContent()).toBe("0");
    await page.getByLabel("Status").selectOption("online");
    await expect.poll(() => page.getByTestId("count-shown").textContent()).toBe(String(DEVICES));
    await page.getByLabel("Status").selectOption("");

    // Model filter: exactly the simulated devices of that model.
    const model = target.spec.model;
    const ofModel = sim.devices.filter((d) => d.spec.model === model).length;
    await page.getByLabel("Model").selectOption(model);
    await expect.poll(() => page.getByTestId("count-shown").textContent()).toBe(String(ofModel));
    await screenshot(page, "devices-02-model-filter");
    await page.getByLabel("Model").selectOption("");

    // Sort by MAC, descending: the first row is the highest MAC.
    const macs = sim.devices.map((d) => d.mac).sort();
    await page.getByRole("button", { name: "MAC" }).click();
    await expect.poll(() => page.getByTestId("device-row").first().getAttribute("data-mac")).toBe(macs[0]);
    await page.getByRole("button", { name: "MAC" }).click();
    await expect.poll(() => page.getByTestId("device-row").first().getAttribute("data-mac")).toBe(macs.at(-1));
    expect(await page.locator("th[aria-sort=descending]").textContent()).toContain("MAC");
    // Scrolling the window brings the other end into the DOM.
    await page
      .getByRole("region", { name: "Devices table (scrolls)" })
      .evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(() => page.locator(`[data-testid=device-row][data-mac="${macs[0]}"]`).count()).toBe(1);

    expect(await unnamedControls(page)).toEqual([]);
    expect(pageErrors(errors)).toEqual([]);
  });

  test("a device page shows details, charts, interfaces; a reboot takes it offline and back online", async () => {
    const { page, errors } = suite.main;
    const simulator = sim;
    const target = simulator?.devices[7];
    if (!simulator || !target) throw new Error("no simulator");
    await page.getByLabel("Search devices").fill(target.mac);
    await page.getByTestId("device-row").getByRole("link").click();
    await page.waitForURL(`**/instances/${instanceId}/devices/${target.mac}`);
    await expect.poll(() => page.getByTestId("device-mac").textContent(), { timeout: 30_000 }).toBe(target.mac);
    const facts = page.getByTestId("device-facts");
    expect(await facts.textContent()).toContain(target.spec.model);
    expect(await facts.textContent()).toContain("UniFi inform");
    await expect.poll(() => facts.getByTestId("device-status").textContent()).toBe("online");
    // Charts are accessible images that name what they show.
    const cpuChart = page.getByTestId("chart-cpu").getByRole("img");
    expect(await cpuChart.getAttribute("aria-label")).toMatch(/^CPU: CPU latest \d+ %/);
    expect(await page.getByTestId("chart-traffic").locator("path.line").count()).toBe(2);
    // Something is drawn: a line, or a dot for a minute with no neighbour yet.
    expect(await page.getByTestId("chart-cpu").locator("path.line[d^=M], circle.dot").count()).toBeGreaterThan(0);
    expect(await page.getByTestId("interfaces-table").locator("tbody tr").count()).toBe(target.interfaces.length);
    // The admin may open a terminal on it (another page).
    expect(await page.getByRole("link", { name: "Open terminal" }).getAttribute("href")).toBe(
      `/instances/${instanceId}/terminal/${target.mac}`,
    );
    // A longer window: the companion answers 24 h at a coarser step; the chart follows.
    await page.getByLabel("History").selectOption("1440");
    await expect.poll(() => page.getByRole("heading", { name: "Last 24 hours" }).count()).toBe(1);
    await expect
      .poll(() => page.getByTestId("chart-memory").getByRole("img").getAttribute("aria-label"))
      .toMatch(/^Memory: Memory latest \d+ %/);
    await screenshot(page, "devices-03-device");

    // Reboot from the page: the command is delivered with the next inform reply.
    // The page asks first; dismissing sends nothing (the status line stays empty), accepting sends it.
    page.once("dialog", (d) => void d.dismiss());
    await page.getByRole("button", { name: "Reboot" }).click();
    await new Promise((r) => setTimeout(r, 500));
    expect(await page.getByTestId("command-result").count()).toBe(0);
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Reboot" }).click();
    await expect
      .poll(() => page.getByTestId("command-result").getAttribute("data-status"), { timeout: 20_000 })
      .toMatch(/^(done|queued)$/);
    // Silent for 12 s: offline after three missed 1 s intervals (+2 s), then back.
    await expect.poll(() => facts.getByTestId("device-status").textContent(), { timeout: 20_000 }).toBe("offline");
    await screenshot(page, "devices-04-rebooting");
    await expect.poll(() => facts.getByTestId("device-status").textContent(), { timeout: 30_000 }).toBe("online");
    // Uptime restarted with the reboot.
    expect(await page.getByTestId("device-uptime").textContent()).toMatch(/^0 min \d+ s$/);
    await expect.poll(() => page.getByTestId("commands-table").textContent(), { timeout: 15_000 }).toContain("reboot");

    // The outage is on the outages page, closed.
    await page.getByRole("navigation", { name: "Instance" }).getByRole("link", { name: "Outages" }).click();
    await page.waitForURL(`**/instances/${instanceId}/outages`);
    const row = page.locator(`[data-testid=outage-row][data-mac="${target.mac}"]`);
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    expect(await row.textContent()).not.toContain("ongoing");
    // 50 devices listed and watched, one opened and rebooted: the relay carried none of it in clear.
    expectNothingInClear(simulator);
    await screenshot(page, "devices-05-outages");
    expect(await unnamedControls(page)).toEqual([]);
    expect(pageErrors(errors)).toEqual([]);
  });

  test("a viewer sees the devices live but is offered no command and no terminal", async () => {
    const { page } = suite.main;
    const url = suite.consoleServer.url;
    const target = sim?.devices[7];
    if (!target) throw new Error("no simulator");
    // A colleague invited as a console viewer signs up in another tab and shows their key card.
    // Their own browser profile: tabs of one profile share the console's session storage events.
    const viewerContext = await newContext(suite.browser);
    const viewer = await watchedPage(viewerContext);
    viewer.page.on("response", (r) => {
      if (r.status() === 404) notFound.push(new URL(r.url()).pathname);
    });
    const card = await inviteColleague(page, PASSWORD, viewer.page, {
      email: VIEWER,
      password: VIEWER_PASSWORD,
      role: "viewer",
    });
    // The admin grants the instance to them as a viewer (signed in the admin's browser).
    await grantFromCard(page, PASSWORD, { consoleUrl: url, instanceId, card, email: VIEWER, role: "viewer" });

    // The viewer's list is live; the device page has facts but no command and no terminal link.
    await viewer.page.goto(`${url}/instances/${instanceId}/devices`);
    // Their own profile: first they confirm the signer's code (the admin's own, read out to them).
    await confirmSigner(viewer.page, (await page.getByTestId("signer-safety-code").textContent()) ?? "");
    await expect
      .poll(() => viewer.page.getByTestId("count-online").textContent(), { timeout: 30_000 })
      .toBe(String(DEVICES));
    await viewer.page.goto(`${url}/instances/${instanceId}/devices/${target.mac}`);
    await expect.poll(() => viewer.page.getByTestId("device-mac").textContent(), { timeout: 30_000 }).toBe(target.mac);
    expect(
      await viewer.page.getByText("Your role (viewer) can view this device but not send it commands.").count(),
    ).toBe(1);
    for (const name of ["Reboot", "Rename", "Set interval"])
      expect(await viewer.page.getByRole("button", { name }).count()).toBe(0);
    expect(await viewer.page.getByRole("link", { name: "Open terminal" }).count()).toBe(0);
    await screenshot(viewer.page, "devices-06-viewer");
    expect(await unnamedControls(viewer.page)).toEqual([]);
    expect(pageErrors(viewer.errors)).toEqual([]);
    await viewerContext.close();
    // Back to the admin's devices list for the next step.
    await page.goto(`${url}/instances/${instanceId}/devices`);
  });

  test("with the companion stopped the devices page shows the last-known inventory, read-only", async () => {
    const { page, errors } = suite.main;
    await page.getByRole("navigation", { name: "Instance" }).getByRole("link", { name: "Devices" }).click();
    await expect.poll(() => page.getByTestId("count-online").textContent(), { timeout: 30_000 }).toBe(String(DEVICES));
    running.child.kill("SIGTERM");
    await running.exit;
    // The companion's final sealed snapshot, opened in this browser, stands in for the live list.
    await expect
      .poll(() => page.getByTestId("site-offline").textContent(), { timeout: 30_000 })
      .toMatch(/^Last known, site offline since .+ \(snapshot taken .+; read-only\)\.$/);
    expect(await page.getByTestId("devices-live").count()).toBe(0);
    await expect.poll(() => page.getByTestId("count-shown").textContent()).toBe(String(DEVICES));
    // The snapshot's rows filter like the live ones.
    const one = sim?.devices[3];
    await page.getByLabel("Search devices").fill(one?.mac ?? "");
    await expect.poll(() => page.getByTestId("count-shown").textContent()).toBe("1");
    expect(await page.getByTestId("device-row").getAttribute("data-mac")).toBe(one?.mac);
    await screenshot(page, "devices-07-site-offline");
    expect(await unnamedControls(page)).toEqual([]);
    expect(pageErrors(errors)).toEqual([]);
  });
});
