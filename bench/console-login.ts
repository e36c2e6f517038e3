// Server log-ins per second: a real console (API only, no Next.js) on PGlite, or PostgreSQL when
// DATABASE_URL is set, with accounts made through the real sign-up API. Concurrent clients log in
// over HTTPS with keep-alive for a fixed time; the baseline, in the same run and on the same
// connections, is GET /api/health (TLS + routing + headers + rate limiting, no database work).
// The browser's Argon2id is not part of this figure (see argon2-browser.ts): the server checks a
// hashed auth key and issues a session.
import { randomBytes, randomUUID } from "node:crypto";
import { Agent, request } from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_RATE_LIMITS } from "../apps/console/src/server/config";
import { startConsole } from "../apps/console/src/server/start-console";

const CONCURRENCY = 10;
const DURATION_MS = 6_000;
const b64u = (b: Uint8Array): string => Buffer.from(b).toString("base64url");
const unlimited = { perIp: 1e9, perAccount: 1e9, windowSeconds: 60 };

const dataDir = mkdtempSync(path.join(tmpdir(), "veil-bench-login-"));
const consoleNode = await startConsole({
  port: 0,
  host: "127.0.0.1",
  httpPort: null,
  informPort: null,
  dataDir,
  databaseUrl: process.env.DATABASE_URL ?? null,
  ui: false,
  banner: false,
  log: () => undefined,
  rateLimits: { ...DEFAULT_RATE_LIMITS, login: unlimited, signup: unlimited, apiRead: unlimited, apiWrite: unlimited },
});
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: consoleNode.certificate.certPem });

function call(pathName: string, body?: unknown): Promise<number> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port: consoleNode.httpsPort,
        servername: "localhost",
        path: pathName,
        method: payload === undefined ? "GET" : "POST",
        headers: {
          host: `localhost:${consoleNode.httpsPort}`,
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) }),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Runs `op` from CONCURRENCY loops for DURATION_MS; returns ops/s and latency percentiles. */
async function load(op: () => Promise<number>, expect: number) {
  const latencies: number[] = [];
  const end = performance.now() + DURATION_MS;

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const status = await op();
        if (status !== expect) throw new Error(`unexpected status ${status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { perSec: (latencies.length * 1000) / DURATION_MS, p50: pct(0.5), p99: pct(0.99) };
}

try {
  // The first account signs up without an invite; log-ins repeat on it (limits lifted above).
  const email = "bench@example.test";
  const authKey = b64u(randomBytes(32));
  const signup = await call("/api/auth/signup", {
    userId: randomUUID(),
    email,
    kdf: { alg: "argon2id", memoryKiB: 65536, iterations: 3, parallelism: 1, salt: b64u(randomBytes(16)) },
    authKey,
    keys: {
      identityPublicKey: b64u(randomBytes(32)),
      boxPublicKey: b64u(randomBytes(32)),
      boxKeyCertificate: b64u(randomBytes(64)),
      wrappedIdentityKey: b64u(randomBytes(81)),
      wrappedBoxKey: b64u(randomBytes(81)),
    },
  });
  if (signup !== 201) throw new Error(`sign-up failed: ${signup}`);
  const health = await load(() => call("/api/health"), 200);
  const login = await load(() => call("/api/auth/login", { email, authKey }), 200);
  const driver = process.env.DATABASE_URL ? "PostgreSQL" : "PGlite";
  console.log(`console log-in (${driver}, ${CONCURRENCY} concurrent clients, load ${loadavg()[0]?.toFixed(1)})`);
  console.log(
    `  GET /api/health (baseline): ${health.perSec.toFixed(0)} req/s, p50 ${health.p50.toFixed(1)} ms, p99 ${health.p99.toFixed(1)} ms`,
  );
  console.log(
    `  POST /api/auth/login:       ${login.perSec.toFixed(0)} log-ins/s, p50 ${login.p50.toFixed(1)} ms, p99 ${login.p99.toFixed(1)} ms`,
  );
  console.log(`  ratio log-in / baseline: ${(login.perSec / health.perSec).toFixed(2)}×`);
} finally {
  agent.destroy();
  await consoleNode.close();
  rmSync(dataDir, { recursive: true, force: true });
}
