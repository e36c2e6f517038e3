// Bulk credential generation for 1,000 devices: the companion's `vault.generate`
// (apps/companion/src/vault/generate-credentials.ts) against the same HTTPS calls made bare with
// node:https, in one run.
//
// Topology: the device simulator (apps/simulator) in a child process (lib/sim-child.ts) with
// 1,000 devices on 127.21.0.0/22 and its HTTPS management API on every address. Both sides run
// in this process, 16 devices at a time (the companion's default), a new TLS connection per call.
//
//  - bare (baseline): per device GET /api/v1/info, POST /api/v1/login, POST /api/v1/credentials
//    with node:https — the same three calls, no certificate pinning, no vault, no checks; it sets
//    the password the companion then logs in with.
//  - Veil: generateCredentials with the vault LOCKED (only its public key on disk) and the
//    current login given: per device pinned TLS, info schema and MAC check, login, a fresh
//    144-bit password, sealed to the vault's public key and written (fsync'd, 64 devices per
//    write) BEFORE it is applied, applied, then the entry marked active (another write per 64).
//
// The simulator is warmed first (one connection per device: it makes each device's TLS context
// on first use). Figures: total time and devices/s; per device, the time from the start of the job to that
// device's `done` (p50/p99), the same definition on both sides.
//
// Run: pnpm --filter @veil/bench exec tsx vault-generate.ts
import https from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateBoxKeyPair, toBase64Url } from "../packages/crypto/src/index";
import { useNativePrimitives } from "../packages/crypto/src/node";
import { ZVaultGenerateBodySchema } from "../packages/protocol/src/index";
import { systemClock } from "../apps/companion/src/clock";
import { silentLogger } from "../apps/companion/src/log";
import { openSiteServices } from "../apps/companion/src/discovery/site-requests";
import { generateCredentials } from "../apps/companion/src/vault/generate-credentials";
import { header } from "./lib/measure";
import { stopChild } from "./lib/relay-common";
import { spawnSimulator } from "./lib/sim-spawn";

const DEVICES = 1000;
const CONCURRENCY = 16;
const USERNAME = "ubnt";
const BASELINE_PASSWORD = "Bench-Baseline-Pass-0001";

useNativePrimitives();
header("bulk credential generation, 1,000 devices");

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

interface Outcome {
  totalMs: number;
  done: number;
  perDevice: number[];
}

function call(
  ip: string,
  port: number,
  method: string,
  route: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: ip,
        port,
        method,
        path: route,
        rejectUnauthorized: false,
        agent: false,
        timeout: 5000,
        headers: {
          ...(data !== undefined
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) }
            : {}),
          ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(data);
  });
}

async function runLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const sim = await spawnSimulator({
  devices: DEVICES,
  seed: 13,
  firstAddress: "127.21.0.1",
  discovery: "off",
  adminPort: 0,
  faultRate: 0,
  startSpreadMs: 0,
});
const dir = mkdtempSync(path.join(tmpdir(), "veil-bench-vault-"));

/** The same three calls per device, bare: info, login, set the password. */
async function bare(): Promise<Outcome> {
  const perDevice: number[] = [];
  const t0 = performance.now();
  let done = 0;
  await runLimited(sim.devices, async (d) => {
    await call(d.ip, sim.adminPort, "GET", "/api/v1/info");
    const auth = await call(d.ip, sim.adminPort, "POST", "/api/v1/login", { username: USERNAME, password: "ubnt" });
    const token = (auth.json as { token?: string }).token;
    const r = await call(
      d.ip,
      sim.adminPort,
      "POST",
      "/api/v1/credentials",
      { username: USERNAME, password: BASELINE_PASSWORD },
      token,
    );
    if (r.status === 200) {
      done++;
      perDevice.push(performance.now() - t0);
    }
  });
  return { totalMs: performance.now() - t0, done, perDevice };
}

/** The companion's bulk generation, vault locked. */
async function veil(): Promise<Outcome> {
  const site = openSiteServices({
    stateDir: dir,
    instanceId: "00000000-0000-4000-8000-000000000001",
    clock: systemClock,
    logger: silentLogger,
    scanRanges: "127.21.0.0/22",
    concurrency: CONCURRENCY,
  });
  site.vault.init(toBase64Url(generateBoxKeyPair().publicKey), false);
  const body = ZVaultGenerateBodySchema.parse({
    devices: sim.devices.map((d) => ({ mac: d.mac, ip: d.ip, port: sim.adminPort })),
    login: { username: USERNAME, password: BASELINE_PASSWORD },
  });
  const perDevice: number[] = [];
  let done = 0;
  const failures = new Map<string, number>();
  const t0 = performance.now();
  await generateCredentials(body, site, (p) => {
    if (p.status === "done") {
      done++;
      perDevice.push(performance.now() - t0);
    } else failures.set(p.error ?? p.status, (failures.get(p.error ?? p.status) ?? 0) + 1);
  });
  const totalMs = performance.now() - t0;
  if (failures.size > 0) console.log(`  companion failures: ${JSON.stringify([...failures])}`);
  if (site.vault.status().entries !== done) throw new Error("vault entries do not match the devices done");
  return { totalMs, done, perDevice };
}

try {
  // The simulator makes each device's TLS context on its first connection: one GET per device
  // first, so neither side pays that set-up.
  await runLimited(sim.devices, async (d) => void (await call(d.ip, sim.adminPort, "GET", "/api/v1/info")));
  const b = await bare();
  console.log(`  bare: ${b.done} devices in ${b.totalMs.toFixed(0)} ms`);
  const v = await veil();
  console.log(`  Veil: ${v.done} devices in ${v.totalMs.toFixed(0)} ms`);
  console.log(`\n### Bulk credential generation, ${DEVICES.toLocaleString("en-US")} simulated devices\n`);
  console.log("| implementation | done | total | devices/s | per device p50 | per device p99 | slower than baseline |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const [name, o] of [
    ["bare node:https, info + login + set password (baseline)", b],
    ["companion vault.generate, vault locked", v],
  ] as const)
    console.log(
      `| ${name} | ${o.done} | ${(o.totalMs / 1000).toFixed(2)} s | ${Math.round((o.done * 1000) / o.totalMs)} | ${(pct(o.perDevice, 50) / 1000).toFixed(2)} s | ${(pct(o.perDevice, 99) / 1000).toFixed(2)} s | ${(o.totalMs / b.totalMs).toFixed(2)}× |`,
    );
} finally {
  await stopChild(sim.child);
  rmSync(dir, { recursive: true, force: true });
}
