// Discovery of 1,024 hosts: the companion's scan (apps/companion/src/discovery/discovery-scan.ts,
// the code behind `discovery.start`) against bare loops doing the same network work, in one run.
//
// Topology: the device simulator (apps/simulator) in a child process (lib/sim-child.ts) with
// 1,024 devices on 127.20.0.0/22, one UBDP socket per device address (as real hardware answers a
// unicast probe from its own address) and the HTTPS management API on every address. The scans
// run in this process. Every figure is the median of ROUNDS runs, a pause between runs so the
// simulator's per-socket answer limit (20 probes/s) never drops a reply.
//
//  - UBDP, bare (baseline): one UDP socket sends the same 2,048 unicast probes (v1 and v2 per
//    host) in the same paced batches as runScan and counts replies until every host answered;
//    no parsing at all. Pacing is needed by both: 2,048 replies at once overflow a default UDP
//    receive buffer.
//  - UBDP, Veil: runScan (scope check of every reply, UBDP TLV parse, MAC and address checks,
//    result objects); ends when all 1,024 MACs are in. At the shipped pacing (2,000 probes/s:
//    ≈ 1 s for 2,048) and at 10,000 probes/s.
//  - UBDP + HTTPS, bare (baseline): the bare UDP loop, then GET /api/v1/info on every host with
//    node:https, 32 at a time, a new TLS connection each and the same 2 s timeout per probe (as
//    the companion does); a probe that times out is not retried by either.
//  - UBDP + HTTPS, Veil: runScan with `https: "responders"` (pinned TLS connect, certificate
//    fingerprint, info schema, 32 at a time) until every device has its HTTPS result.
//
// Run: pnpm --filter @veil/bench exec tsx discovery.ts
import dgram from "node:dgram";
import https from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { UBDP_PROBE_V1, UBDP_PROBE_V2 } from "../packages/devices/src/index";
import { PinStore } from "../apps/companion/src/adoption/pin-store";
import { runScan } from "../apps/companion/src/discovery/discovery-scan";
import { checkAddress, scopeFromConfig } from "../apps/companion/src/discovery/scope";
import { header } from "./lib/measure";
import { stopChild } from "./lib/relay-common";
import { spawnSimulator } from "./lib/sim-spawn";

const HOSTS = 1024;
const RANGE = "127.20.0.0/22";
const ROUNDS = 3;
const PAUSE_MS = 1200;
/** runScan's default unicast pacing, and a faster one. */
const SHIPPED_PPS = 2000;
const FAST_PPS = 10_000;
interface Outcome {
  ms: number;
  found: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

header("discovery of 1,024 hosts");
const sim = await spawnSimulator({
  devices: HOSTS,
  seed: 9,
  firstAddress: "127.20.0.0",
  discovery: "per-device",
  discoveryPort: 0,
  adminPort: 0,
  faultRate: 0,
  startSpreadMs: 0,
});
const scope = scopeFromConfig(RANGE);
// The device addresses (a /22 from its network to its broadcast address: planScan would leave
// those two out), each checked against the scope as planScan checks them.
const plan = { hosts: sim.devices.map((d) => d.ip) };
if (plan.hosts.length !== HOSTS || plan.hosts.some((h) => checkAddress(scope, h) !== undefined))
  throw new Error("the simulated hosts are not all in scope");
const pinDir = mkdtempSync(path.join(tmpdir(), "veil-bench-discovery-"));
const pins = new PinStore(pinDir);

/**
 * Bare: 2 probes per host, paced exactly like runScan (rate/50 hosts every 20 ms); resolves when
 * every host sent at least one reply. Unpaced, 2,048 replies at once overflow a default UDP
 * receive buffer and some are lost, for this loop and the companion alike.
 */
async function bareUdp(probesPerSecond: number): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  const answered = new Set<string>();
  const t0 = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`bare UDP: ${answered.size} of ${HOSTS} answered`)), 20_000);
    socket.on("message", (_msg, rinfo) => {
      answered.add(rinfo.address);
      if (answered.size === HOSTS) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const batch = Math.max(1, Math.floor(probesPerSecond / 50));
  for (let i = 0; i < plan.hosts.length; i += batch) {
    for (const h of plan.hosts.slice(i, i + batch))
      for (const p of [UBDP_PROBE_V1, UBDP_PROBE_V2]) socket.send(p, sim.ubdpPort, h, () => undefined);
    await sleep(20);
  }
  await done;
  const ms = performance.now() - t0;
  socket.close();
  return ms;
}

/** GET /api/v1/info with the companion's per-probe timeout (2 s); true when it answered 200. */
function getInfo(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      { host: ip, port: sim.adminPort, path: "/api/v1/info", rejectUnauthorized: false, agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

/** Bare UDP loop, then every host's /api/v1/info over node:https, 32 at a time. */
async function bareUdpHttps(): Promise<Outcome> {
  const t0 = performance.now();
  await bareUdp(SHIPPED_PPS);
  let next = 0;
  let found = 0;
  let lastAt = t0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < plan.hosts.length)
        if (await getInfo(plan.hosts[next++] ?? "")) {
          found++;
          lastAt = performance.now();
        }
    }),
  );
  return { ms: lastAt - t0, found };
}

/**
 * The companion's scan; ends when every device is found (and, with HTTPS, probed), else at its
 * time bound. Returns the time to the last result and how many devices it got.
 */
async function veil(probesPerSecond: number, withHttps: boolean): Promise<Outcome> {
  const controller = new AbortController();
  const ubdp = new Set<string>();
  const viaHttps = new Set<string>();
  const t0 = performance.now();
  let lastAt = t0;
  const scan = await runScan({
    hosts: plan.hosts,
    scope,
    pins,
    durationMs: withHttps ? 30_000 : 5_000, // 30 s: the longest discovery.start allows
    broadcast: false,
    https: withHttps ? "responders" : "off",
    // One above the device count: at exactly-full the scan stops at its first HTTPS answer.
    maxResults: HOSTS + 1,
    now: Date.now,
    ubdpPort: sim.ubdpPort,
    httpsPort: sim.adminPort,
    probesPerSecond,
    onResult: (d) => {
      const set = d.source === "https" ? viaHttps : ubdp;
      if (set.has(d.mac)) return;
      set.add(d.mac);
      if (set === (withHttps ? viaHttps : ubdp)) lastAt = performance.now();
      if (set.size === HOSTS && set === (withHttps ? viaHttps : ubdp)) controller.abort();
    },
    signal: controller.signal,
  });
  const found = (withHttps ? viaHttps : ubdp).size;
  if (found < HOSTS) console.log(`    (scan ended: ${scan.reason}, ${JSON.stringify(scan.stats)})`);
  return { ms: lastAt - t0, found };
}

async function figure(name: string, fn: () => Promise<Outcome | number>): Promise<Outcome> {
  const runs: Outcome[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await sleep(PAUSE_MS);
    const r = await fn();
    runs.push(typeof r === "number" ? { ms: r, found: HOSTS } : r);
  }
  const ms = median(runs.map((r) => r.ms));
  const found = Math.min(...runs.map((r) => r.found));
  console.log(
    `  ${name}: ${runs.map((r) => `${r.ms.toFixed(0)} ms (${r.found})`).join(" / ")} → median ${ms.toFixed(0)} ms`,
  );
  return { ms, found };
}

try {
  await veil(SHIPPED_PPS, false); // warm-up: JIT, sockets, the simulator's first answers
  const bare = await figure("UBDP bare, 2,000 probes/s", () => bareUdp(SHIPPED_PPS));
  const paced = await figure("UBDP Veil, 2,000 probes/s", () => veil(SHIPPED_PPS, false));
  const bareFast = await figure("UBDP bare, 10,000 probes/s", () => bareUdp(FAST_PPS));
  const fast = await figure("UBDP Veil, 10,000 probes/s", () => veil(FAST_PPS, false));
  const bareFull = await figure("UBDP+HTTPS bare", bareUdpHttps);
  const full = await figure("UBDP+HTTPS Veil", () => veil(SHIPPED_PPS, true));
  const rows: [string, string, Outcome, Outcome][] = [
    ["UBDP at 2,000 probes/s (shipped pacing)", "bare UDP loop, no parsing (baseline)", bare, bare],
    ["UBDP at 2,000 probes/s (shipped pacing)", "companion runScan", paced, bare],
    ["UBDP at 10,000 probes/s", "bare UDP loop, no parsing (baseline)", bareFast, bareFast],
    ["UBDP at 10,000 probes/s", "companion runScan", fast, bareFast],
    ["UBDP + HTTPS probe", "bare UDP loop + node:https GET /api/v1/info ×1,024 (baseline)", bareFull, bareFull],
    ["UBDP + HTTPS probe", "companion runScan, https=responders", full, bareFull],
  ];
  console.log(`\n### Discovery of ${HOSTS.toLocaleString("en-US")} simulated hosts (median of ${ROUNDS})\n`);
  console.log("| what | implementation | found | time to last result | results/s | slower than baseline |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const [what, impl, o, base] of rows)
    console.log(
      `| ${what} | ${impl} | ${o.found} of ${HOSTS} | ${o.ms.toFixed(0)} ms | ${Math.round((o.found * 1000) / o.ms).toLocaleString("en-US")} | ${(o.ms / base.ms).toFixed(2)}× |`,
    );
} finally {
  await stopChild(sim.child);
  rmSync(pinDir, { recursive: true, force: true });
}
