// N enrolled companions connected to one real console, each answering an end-to-end request every
// 5 s, against N bare socket.io clients on a bare hub doing the same exchange, in one run.
//
//  - Veil: the real console in a child process (lib/fleet-console.ts: API + relay, PGlite), the
//    real companion code — startCompanion: supervisor, pinned transport, responder — for N hosts
//    spread over WORKERS processes (lib/fleet-worker.ts; 1,000 processes do not fit in 2 cores),
//    each enrolled through the real enrollment path (lib/fleet-fixtures.ts, cached). This
//    process is the browser side: one E2E session (Noise_KK, signed grant) per host, 16 sessions
//    per browser socket as the console allows, and each session sends `ping` or `system.info`
//    (alternating by host) every 5 s, the hosts' phases spread evenly over the 5 s.
//  - bare: lib/fleet-bare-hub.ts, a socket.io server on the same certificate that routes frames
//    by id with no checks; N plain socket.io clients in the same worker processes answer every
//    frame; the same schedule and frame sizes from this process.
// Reported: hosts connected, time to connect, round-trip p50/p99, the relay process's RSS and
// heap (after a full GC) before and after the hosts connect, per connection, and its CPU share.
//
// Run: pnpm --filter @veil/bench exec tsx companions.ts [--companions 1000] [--workers 4]
//      [--measure-s 30] [--fresh]
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { client } from "../apps/console/test/helpers/http";
import { browserSocket, connected, signGrantBundle, type KeyedAccount } from "../apps/console/test/helpers/instances";
import { fromBase64Url, toBase64Url } from "@veil/crypto";
import { onRelayFrames, ZLoginResponseSchema, type TRelayFrame } from "../packages/protocol/src/index";
import { consoleNodeFlags } from "./lib/companion-bundle";
import { ask, consoleDir, forkLib, loadOrMakeFleet, nextMessage, stopFork, type Fleet } from "./lib/fleet-fixtures";
import { header } from "./lib/measure";
import { CpuMeter, mib } from "./lib/proc-stats";
import { connect, emitFrame, Waiters, type Socket } from "./lib/relay-common";
import { BrowserSession, sendBatched } from "./lib/relay-veil";

const { values } = parseArgs({
  options: {
    companions: { type: "string", default: "1000" },
    workers: { type: "string", default: "4" },
    "measure-s": { type: "string", default: "30" },
    fresh: { type: "boolean", default: false },
  },
});
const N = Number(values.companions);
const WORKERS = Number(values.workers);
const MEASURE_MS = Number(values["measure-s"]) * 1000;
const PERIOD_MS = 5_000;
const SESSIONS_PER_SOCKET = 16;
const CACHE = path.join(import.meta.dirname, ".cache", `companions-${N}`);

interface Stats {
  rss: number;
  heapUsed: number;
  connected: number;
}
const stats = (c: Parameters<typeof ask>[0]) => ask<Stats>(c, { kind: "stats" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

/** Every host gets one request per PERIOD_MS, phases spread evenly; latencies after the first round. */
async function drive(n: number, request: (host: number) => Promise<number>) {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const warmEnd = start + PERIOD_MS;
  const end = warmEnd + MEASURE_MS;
  await Promise.all(
    Array.from({ length: n }, async (_, host) => {
      await sleep((host * PERIOD_MS) / n);
      for (let due = performance.now(); due < end; due += PERIOD_MS) {
        try {
          const ms = await request(host);
          if (performance.now() > warmEnd) latencies.push(ms);
        } catch {
          errors += 1;
        }
        await sleep(Math.max(0, due + PERIOD_MS - performance.now()));
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), count: latencies.length, errors };
}

async function veil(fleet: Fleet) {
  const relay = forkLib("fleet-console.ts", [consoleDir(CACHE), String(fleet.port)], consoleNodeFlags());
  const { certPem } = await nextMessage<{ certPem: string }>(relay, "ready");
  const api = client(fleet.port, certPem);
  const login = await api("/api/auth/login", { body: { email: fleet.admin.email, authKey: fleet.admin.authKey } });
  if (login.status !== 200) throw new Error(`admin log-in: ${login.status} ${login.text}`);
  const issued = ZLoginResponseSchema.parse(login.json);
  if (issued.status !== "ok") throw new Error("admin log-in asks for a second factor");
  const admin: KeyedAccount = { ...fleet.admin, token: issued.session.token };
  await sleep(1_000);
  const before = await stats(relay);
  const workers = Array.from({ length: WORKERS }, () => forkLib("fleet-worker.ts", []));
  await Promise.all(workers.map((w) => nextMessage(w, "up")));
  const t0 = performance.now();
  workers.forEach((w, i) =>
    w.send({
      kind: "run",
      stateDirs: fleet.hosts.filter((_, h) => h % WORKERS === i).map((h) => path.join(CACHE, h.stateDir)),
    }),
  );
  // Connected as the console sees it: the instance list's presence.
  const onlineNow = async () => {
    const r = await api("/api/instances", { token: admin.token });
    if (r.status !== 200) throw new Error(`instance list: ${r.status} ${r.text}`);
    return (r.json as { instances: { presence: { online: boolean } }[] }).instances.filter((i) => i.presence.online)
      .length;
  };
  let online = 0;
  while ((online = await onlineNow()) < N && performance.now() - t0 < 180_000) await sleep(500);
  const connectS = (performance.now() - t0) / 1000;
  await sleep(2_000);
  const after = await stats(relay);
  // Browser side: one E2E session per host.
  const sockets: Socket[] = [];
  const sessions: BrowserSession[] = [];
  let frameBytes = { request: 0, answer: 0, requests: 0, answers: 0 };
  for (let i = 0; i < N; i += SESSIONS_PER_SOCKET) {
    const s = browserSocket(fleet.port, certPem, admin.token);
    await connected(s);
    onRelayFrames(s, (raw) => {
      const f = raw as TRelayFrame;
      if (f.kind !== "transport") return;
      frameBytes.answer += f.frame.length;
      frameBytes.answers += 1;
    });
    sockets.push(s);
    const group = fleet.hosts.slice(i, i + SESSIONS_PER_SOCKET);
    const opened = await Promise.all(
      group.map(async (h) => {
        const session = new BrowserSession(s, h.instanceId);
        const bundle = JSON.stringify(signGrantBundle(admin, admin, h.instanceId, "admin", Date.now() + 3600_000));
        await session.open(admin, fromBase64Url(h.boxPublicKey), bundle);
        return session;
      }),
    );
    sessions.push(...opened);
  }
  const withSessions = await stats(relay);
  frameBytes = { request: 0, answer: 0, requests: 0, answers: 0 };
  const cpu = new CpuMeter(relay.pid ?? 0);
  const load = await drive(sessions.length, async (host) => {
    const session = sessions[host] as BrowserSession;
    const type = host % 2 === 0 ? "ping" : "system.info";
    const { frame, answer } = session.seal(type);
    frameBytes.request += frame.frame.length;
    frameBytes.requests += 1;
    const t = performance.now();
    await Promise.all([sendBatched(session.socket, frame), answer]);
    const r = await answer;
    if (r.kind !== "result") throw new Error(`${type}: ${JSON.stringify(r)}`);
    return performance.now() - t;
  });
  const cores = cpu.cores();
  for (const s of sockets) s.disconnect();
  await Promise.all(workers.map((w) => stopFork(w)));
  await stopFork(relay);
  return { online, connectS, before, after, withSessions, load, cores, frameBytes, sessions: sessions.length };
}

async function bare(fleet: Fleet, requestBytes: number, answerBytes: number) {
  const hub = forkLib("fleet-bare-hub.ts", [path.join(consoleDir(CACHE), "tls")]);
  const { port } = await nextMessage<{ port: number }>(hub, "ready");
  const certPem = readFileSync(path.join(consoleDir(CACHE), "tls", "self-signed.crt"), "utf8");
  await sleep(1_000);
  const before = await stats(hub);
  const workers = Array.from({ length: WORKERS }, () => forkLib("fleet-worker.ts", []));
  await Promise.all(workers.map((w) => nextMessage(w, "up")));
  const t0 = performance.now();
  workers.forEach((w, i) =>
    w.send({
      kind: "bare",
      port,
      ca: certPem,
      answerBytes,
      ids: fleet.hosts.filter((_, h) => h % WORKERS === i).map((h) => h.instanceId),
    }),
  );
  let online = 0;
  while ((online = (await stats(hub)).connected) < N && performance.now() - t0 < 120_000) await sleep(500);
  const connectS = (performance.now() - t0) / 1000;
  await sleep(2_000);
  const after = await stats(hub);
  const answers = new Waiters<void>();
  const sockets: Socket[] = [];
  for (let i = 0; i < N; i += SESSIONS_PER_SOCKET) {
    const s = connect(`https://localhost:${port}/`, {
      transports: ["websocket"],
      ca: certPem,
      reconnection: false,
      forceNew: true,
    });
    await connected(s);
    s.on("e2e:frame", (f: TRelayFrame) => answers.settle(f.frame.slice(0, 22), undefined));
    sockets.push(s);
  }
  const sessionIds = fleet.hosts.map(() => toBase64Url(randomBytes(16)));
  const pad = "a".repeat(Math.max(0, requestBytes - 22));
  const cpu = new CpuMeter(hub.pid ?? 0);
  const load = await drive(N, async (host) => {
    const id = toBase64Url(randomBytes(16));
    const t = performance.now();
    const answer = answers.wait(id);
    const frame: TRelayFrame = {
      instanceId: fleet.hosts[host]?.instanceId ?? "",
      sessionId: sessionIds[host] ?? "",
      kind: "transport",
      frame: id + pad,
    };
    await Promise.all([emitFrame(sockets[Math.floor(host / SESSIONS_PER_SOCKET)] as Socket, frame), answer]);
    return performance.now() - t;
  });
  const cores = cpu.cores();
  for (const s of sockets) s.disconnect();
  await Promise.all(workers.map((w) => stopFork(w)));
  await stopFork(hub);
  return { online, connectS, before, after, load, cores };
}

header(`companions: ${N} connected to one console`);
const load0 = loadavg()[0] ?? 0;
const fleet = await loadOrMakeFleet(CACHE, N, WORKERS, values.fresh);
const v = await veil(fleet);
const requestBytes = Math.round(v.frameBytes.request / Math.max(1, v.frameBytes.requests));
const answerBytes = Math.round(v.frameBytes.answer / Math.max(1, v.frameBytes.answers));
const b = await bare(fleet, requestBytes, answerBytes);
const per = (a: number, z: number, n: number) => `${((z - a) / n / 1024).toFixed(1)} KiB`;
console.log(
  `\nload ${load0.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}; ${MEASURE_MS / 1000} s measured after one 5 s round; frames ${requestBytes} B out, ${answerBytes} B back on average (ping and system.info)`,
);
console.log(
  `\n| relay | connected | time to connect | requests | errors | round trip p50 / p99 | relay RSS before → after | RSS per connection | heap per connection | relay CPU |`,
);
console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
console.log(
  `| bare socket.io hub (baseline) | ${b.online} / ${N} | ${b.connectS.toFixed(1)} s | ${b.load.count} | ${b.load.errors} | ${b.load.p50.toFixed(1)} / ${b.load.p99.toFixed(1)} ms | ${mib(b.before.rss)} → ${mib(b.after.rss)} | ${per(b.before.rss, b.after.rss, N)} | ${per(b.before.heapUsed, b.after.heapUsed, N)} | ${b.cores.toFixed(3)} cores |`,
);
console.log(
  `| Veil console + companions | ${v.online} / ${N} | ${v.connectS.toFixed(1)} s | ${v.load.count} | ${v.load.errors} | ${v.load.p50.toFixed(1)} / ${v.load.p99.toFixed(1)} ms | ${mib(v.before.rss)} → ${mib(v.after.rss)} (${mib(v.withSessions.rss)} with ${v.sessions} sessions) | ${per(v.before.rss, v.after.rss, N)} (${per(v.before.rss, v.withSessions.rss, N)} with its session) | ${per(v.before.heapUsed, v.after.heapUsed, N)} (${per(v.before.heapUsed, v.withSessions.heapUsed, N)}) | ${v.cores.toFixed(3)} cores |`,
);
console.log(
  `\nTargets: all connected ${v.online === N ? "met" : "MISSED"} · p99 < 250 ms ${v.load.p99 < 250 ? "met" : "MISSED"} (${(v.load.p99 / b.load.p99).toFixed(1)}× bare) · RSS per connection ${((v.after.rss - v.before.rss) / Math.max(1, b.after.rss - b.before.rss) || 0).toFixed(1)}× bare`,
);
