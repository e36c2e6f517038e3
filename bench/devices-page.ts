// The devices page (/instances/[id]/devices) in headless Chromium with 10,000 devices, against a
// plain static HTML table of the same 10,000 rows rendered in the same browser, same run.
//
// Everything is real: the console (HTTPS, Next.js production build, relay), an admin signed up
// in the page, the companion CLI (from source) enrolled from the line the page shows, and
// @veil/simulator in this process with 10,000 UniFi devices informing the companion every 10 s
// (pending on the default key: shown, trusted for nothing — that is the cheapest ingest path,
// and the page treats every status the same). At 10,000 devices every 10 s the steady state IS
// the update burst of the issue: about 1,000 changed devices every second.
//
// Figures (medians unless said):
//  - first render: navigation → all 10,000 rows listed (paged `devices.list` through the E2E
//    session) and the table rendered; from the page's own `veil.devices.load` measure
//    (apps/console/src/client/devices/use-device-inventory.ts), taken after React committed.
//  - update burst: over WINDOW_MS of steady state, each `devices.changed` batch from event
//    arrival to rendered (`veil.devices.batch`), each resync reload (`veil.devices.load`), and
//    the share of the main thread taken by long tasks.
//  - baseline: the same 10,000 rows as a static <table> (innerHTML, layout, two frames), and
//    1,000 of its rows' cells rewritten in one frame.
//
// Run (after building the console UI):
//   cd apps/console && VEIL_NEXT_DIST_DIR=.next-devices pnpm exec next build && cd ../..
//   VEIL_NEXT_DIST_DIR=.next-devices pnpm --filter @veil/bench exec tsx devices-page.ts
// VEIL_BENCH_DEVICES (default 10000), VEIL_BENCH_WINDOW_MS (default 20000).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { decodeEnrollment } from "../packages/protocol/src/index";
import { spawnCompanion } from "../apps/console/test/helpers/instances";
import { startSimulator, type SimulatorHandle } from "../apps/simulator/src/index";
import { launchBrowser, newContext, startTestConsole } from "../tests/console/harness";
import { header, printTable, type Row } from "./lib/measure";
import { stopChild } from "./lib/relay-common";

const DEVICES = Number(process.env.VEIL_BENCH_DEVICES ?? 10_000);
const WINDOW_MS = Number(process.env.VEIL_BENCH_WINDOW_MS ?? 20_000);
const INTERVAL_S = 10;
const RUNS = 3;
const PASSWORD = "correct horse battery staple orbit";

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const pct = (v: readonly number[], p: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN);
};
const ms = (v: number): string => (Number.isNaN(v) ? "none" : `${v.toFixed(0)} ms`);

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function signUpAndAddInstance(page: Page, url: string): Promise<string> {
  await page.goto(`${url}/signup`);
  await page.getByLabel("E-mail").fill("bench@example.test");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill(PASSWORD);
  await page
    .getByTestId("password-verdict")
    .filter({ hasText: /strong/i })
    .waitFor({ timeout: 30_000 });
  await page.getByLabel("Make a printable recovery kit").uncheck();
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL("**/account", { timeout: 120_000 });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
  await page.waitForURL("**/instances");
  await page.getByLabel("Instance name").fill("bench site");
  await page.getByRole("button", { name: "Add instance" }).click();
  const shown = page.getByTestId("install-line");
  await shown.waitFor({ timeout: 120_000 });
  const line = (await shown.textContent()) ?? "";
  await page.getByRole("button", { name: "Done, I have copied it" }).click();
  const m = /'(veil1_[A-Za-z0-9_-]+)'/.exec(line);
  if (!m?.[1]) throw new Error("no enrollment line");
  return m[1];
}

/** The static-table baseline: render time of all rows, and time to rewrite 1,000 rows in one frame. */
async function staticTable(page: Page, html: string): Promise<{ render: number[]; burst: number[] }> {
  await page.goto("about:blank");
  // tsx (esbuild keepNames) wraps named functions in `__name(…)`, which the page lacks.
  await page.evaluate("globalThis.__name = (f) => f");
  return page.evaluate(async (body) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const render: number[] = [];
    const burst: number[] = [];
    for (let i = 0; i < 3; i++) {
      document.body.innerHTML = "";
      await frame();
      const t = performance.now();
      document.body.innerHTML = body;
      void document.body.offsetHeight;
      await frame();
      render.push(performance.now() - t);
    }
    const cells = Array.from(document.querySelectorAll("tbody tr td:nth-child(6)"));
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      for (let k = 0; k < 1000; k++) {
        const c = cells[(k * 7 + i * 1000) % cells.length];
        if (c) c.textContent = `${(k + i) % 100} %`;
      }
      void document.body.offsetHeight;
      await frame();
      burst.push(performance.now() - t);
    }
    return { render, burst };
  }, html);
}

function tableHtml(sim: SimulatorHandle): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = sim.devices.map(
    (d) =>
      `<tr><td><a href="#">${esc(d.hostname)}</a></td><td>pending</td><td>${esc(d.spec.display)}</td><td>${d.ip}</td><td><code>${d.mac}</code></td><td>${d.cpu} %</td><td>${d.clients.length}</td><td>1 s ago</td></tr>`,
  );
  return `<table><thead><tr><th>Name</th><th>Status</th><th>Model</th><th>IP</th><th>MAC</th><th>CPU</th><th>Clients</th><th>Last seen</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

header(`devices page in Chromium, ${DEVICES.toLocaleString("en-US")} devices`);
const consoleServer = await startTestConsole();
const browser = await launchBrowser();
const stateDir = mkdtempSync(path.join(tmpdir(), "veil-bench-devices-"));
const children: ReturnType<typeof spawnCompanion>[] = [];
let sim: SimulatorHandle | undefined;
try {
  const context = await newContext(browser);
  const page = await context.newPage();
  const url = consoleServer.url;
  const enrollment = await signUpAndAddInstance(page, url);
  const instanceId = decodeEnrollment(enrollment).instanceId;
  const enroll = spawnCompanion("enroll", stateDir, { VEIL_ENROLL: enrollment });
  children.push(enroll);
  if ((await enroll.exit) !== 0) throw new Error(`enroll failed:\n${enroll.output()}`);
  const run = spawnCompanion("run", stateDir, {
    VEIL_INFORM_PORT: "0",
    VEIL_DEVICE_CHANNEL_PORT: "0",
    VEIL_DEVICE_BIND: "127.0.0.1",
    VEIL_DEVICE_PUBLIC_HOST: "127.0.0.1",
    VEIL_INFORM_INTERVAL: String(INTERVAL_S),
  });
  children.push(run);
  let informPort = 0;
  await until("inform port", 60_000, () => {
    informPort = Number(/"informPort":(\d+)/.exec(run.output())?.[1] ?? 0);
    return Promise.resolve(informPort > 0);
  });
  const t0 = performance.now();
  sim = await startSimulator({
    devices: DEVICES,
    seed: 7,
    informUrl: `http://127.0.0.1:${informPort}/inform`,
    admin: false,
    discovery: "off",
    timeScale: 1,
    startSpreadMs: INTERVAL_S * 1000,
    faultRate: 0,
    cipher: "gcm",
    compression: "zlib",
  });
  const devicesUrl = `${url}/instances/${instanceId}/devices`;
  await page.goto(devicesUrl);
  const total = async () => {
    const n = await Promise.all(
      ["count-online", "count-offline", "count-pending"].map((id) =>
        page
          .getByTestId(id)
          .textContent({ timeout: 1000 })
          .catch(() => "0"),
      ),
    );
    return n.reduce((a, b) => a + Number(b ?? 0), 0);
  };
  await until("every device in the inventory", 180_000, async () => (await total()) >= DEVICES);
  console.log(
    `set-up: ${DEVICES} devices informing the companion after ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  // First render, RUNS times.
  const first: number[] = [];
  const listing: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(devicesUrl);
    await page.waitForFunction(
      (n) =>
        performance.getEntriesByName("veil.devices.load").length > 0 &&
        document.querySelector("[data-testid=count-shown]")?.textContent === String(n),
      DEVICES,
      { timeout: 120_000, polling: 100 },
    );
    const m = await page.evaluate(() => {
      const e = performance.getEntriesByName("veil.devices.load")[0];
      return e ? { start: e.startTime, duration: e.duration } : null;
    });
    if (!m) throw new Error("no veil.devices.load measure");
    first.push(m.start + m.duration);
    listing.push(m.duration);
  }

  // Steady state: ~DEVICES / INTERVAL_S changed devices a second.
  const before = sim.stats();
  await page.evaluate(() => {
    performance.clearMeasures();
    const w = window as unknown as { __longTasks: number };
    w.__longTasks = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks += e.duration;
    }).observe({ type: "longtask" });
  });
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const steady = await page.evaluate(() => ({
    batches: performance.getEntriesByName("veil.devices.batch").map((e) => e.duration),
    batchRows: performance
      .getEntriesByName("veil.devices.batch")
      .reduce((n, e) => n + Number((e as PerformanceMeasure).detail?.rows ?? 0), 0),
    loads: performance.getEntriesByName("veil.devices.load").map((e) => e.duration),
    longTasks: (window as unknown as { __longTasks: number }).__longTasks,
  }));
  const after = sim.stats();
  const informsPerSec = ((after.informsSent - before.informsSent) * 1000) / WINDOW_MS;

  const baseline = await staticTable(page, tableHtml(sim));
  const staticRender = median(baseline.render);
  const staticBurst = median(baseline.burst);
  const ratio = (v: number, b: number) => (Number.isNaN(v) ? "—" : `${(v / b).toFixed(1)}×`);
  const n = DEVICES.toLocaleString("en-US");
  const burst = Math.round(DEVICES / INTERVAL_S).toLocaleString("en-US");
  const rows: Row[] = [
    {
      operation: `first render of ${n} rows`,
      implementation: "static <table> (baseline)",
      figure: ms(staticRender),
      ratio: "1.0×",
    },
    {
      operation: `first render of ${n} rows`,
      implementation: "devices page: navigation → all rows listed E2E and rendered",
      figure: ms(median(first)),
      ratio: ratio(median(first), staticRender),
    },
    {
      operation: `first render of ${n} rows`,
      implementation: `devices page: listing (${Math.ceil(DEVICES / 100)} pages of devices.list) + render only`,
      figure: ms(median(listing)),
      ratio: ratio(median(listing), staticRender),
    },
    {
      operation: `${burst} rows change per second`,
      implementation: "static <table>, 1,000 cells rewritten, one frame (baseline)",
      figure: ms(staticBurst),
      ratio: "1.0×",
    },
    {
      operation: `${burst} rows change per second`,
      implementation: `devices page: live batch, event → rendered (${steady.batches.length} batches, ${steady.batchRows} rows; p50 / p99)`,
      figure: `${ms(median(steady.batches))} / ${ms(pct(steady.batches, 99))}`,
      ratio: ratio(median(steady.batches), staticBurst),
    },
    {
      operation: `${burst} rows change per second`,
      implementation: `devices page: resync reload of all rows (${steady.loads.length} in ${WINDOW_MS / 1000} s)`,
      figure: ms(median(steady.loads)),
      ratio: ratio(median(steady.loads), staticBurst),
    },
  ];
  printTable(`devices page, ${DEVICES.toLocaleString("en-US")} devices (lower is better)`, rows);
  console.log(
    `\nsteady state: ${informsPerSec.toFixed(0)} informs/s from the simulator; long tasks on the page's main thread ${((100 * steady.longTasks) / WINDOW_MS).toFixed(1)} % of ${WINDOW_MS / 1000} s`,
  );
  console.log(`runs: first render ${first.map(ms).join(", ")}; static table ${baseline.render.map(ms).join(", ")}`);
} finally {
  await sim?.stop();
  for (const c of children) await stopChild(c);
  await browser.close().catch(() => undefined);
  await consoleServer.close();
  rmSync(stateDir, { recursive: true, force: true });
}
