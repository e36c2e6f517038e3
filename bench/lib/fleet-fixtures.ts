// The enrolled fleet of bench/companions.ts: a console data folder (PGlite, certificate) with an
// admin and N instances, and N companion state folders enrolled against it, kept under
// bench/.cache/companions-<N>/ (gitignored) because every instance costs an Argon2id at the
// floor (64 MiB, t=3). The console always runs on the port recorded here, since each companion's
// state holds the console URL it enrolled with.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { client } from "../../apps/console/test/helpers/http";
import { signUpKeyed, type KeyedAccount } from "../../apps/console/test/helpers/instances";
import type { TCompanionInfoResponse } from "../../packages/protocol/src/index";
import { consoleNodeFlags } from "./companion-bundle";

export interface Host {
  readonly stateDir: string;
  readonly instanceId: string;
  readonly boxPublicKey: string;
}
export interface Fleet {
  readonly port: number;
  readonly admin: KeyedAccount;
  readonly hosts: Host[];
}

/** A child running a bench/lib script with IPC (structured clone), GC exposed. */
export function forkLib(script: string, args: string[], nodeArgs: readonly string[] = []): ChildProcess {
  const child = fork(path.join(import.meta.dirname, script), args, {
    execArgv: ["--expose-gc", ...nodeArgs, "--import", "tsx"],
    cwd: path.join(import.meta.dirname, ".."),
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  forks.add(child);
  child.once("exit", () => forks.delete(child));
  return child;
}

/** Every forked child still running: killed if this process exits (a crash must not orphan them). */
const forks = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of forks) c.kill("SIGKILL");
});

/** The next IPC message of `kind` from `c` (rejects on an {kind:"error"} message or exit). */
export function nextMessage<T = Record<string, unknown>>(c: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { kind?: string; message?: string }) => {
      if (m.kind === kind) {
        done();
        resolve(m as T);
      } else if (m.kind === "error") {
        done();
        reject(new Error(m.message));
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`child exited (${code}) while waiting for ${kind}`));
    };
    const done = () => {
      c.off("message", onMessage);
      c.off("exit", onExit);
    };
    c.on("message", onMessage);
    c.on("exit", onExit);
  });
}

export async function ask<T>(c: ChildProcess, message: { kind: string }): Promise<T> {
  const answer = nextMessage<T>(c, message.kind);
  c.send(message);
  return answer;
}

/** Asks a forked child to stop and waits for it to exit (SIGKILL after 10 s). */
export async function stopFork(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  c.send({ kind: "stop" });
  const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// Key bytes survive the JSON manifest as {u8: base64url}.
const replacer = (_: string, v: unknown) =>
  v instanceof Uint8Array ? { u8: Buffer.from(v).toString("base64url") } : v;
const reviver = (_: string, v: unknown) =>
  typeof v === "object" && v !== null && "u8" in v && Object.keys(v).length === 1
    ? new Uint8Array(Buffer.from(String((v as { u8: unknown }).u8), "base64url"))
    : v;

export const consoleDir = (cache: string): string => path.join(cache, "console");

/** The cached fleet, or a new one made with `workers` processes enrolling in parallel. */
export async function loadOrMakeFleet(cache: string, n: number, workers: number, fresh: boolean): Promise<Fleet> {
  const manifestPath = path.join(cache, "fleet.json");
  if (!fresh && existsSync(manifestPath)) {
    const fleet = JSON.parse(readFileSync(manifestPath, "utf8"), reviver) as Fleet;
    if (fleet.hosts.length === n) {
      console.log(
        `fleet: ${n} enrolled hosts from the cache ${path.relative(process.cwd(), cache)} (--fresh remakes it)`,
      );
      return fleet;
    }
  }
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(consoleDir(cache), { recursive: true, mode: 0o700 });
  const port = await freePort();
  const t0 = performance.now();
  const consoleChild = forkLib("fleet-console.ts", [consoleDir(cache), String(port)], consoleNodeFlags());
  const { certPem } = await nextMessage<{ certPem: string }>(consoleChild, "ready");
  const api = client(port, certPem);
  const admin = await signUpKeyed(api, "admin@example.test");
  const info = (await api("/api/companion-info", { token: admin.token })).json as TCompanionInfoResponse;
  const hosts: Host[] = [];
  const kids = Array.from({ length: workers }, () => forkLib("fleet-worker.ts", []));
  await Promise.all(kids.map((k) => nextMessage(k, "up")));
  for (const k of kids)
    k.on("message", (m: { kind?: string; index?: number; instanceId?: string; boxPublicKey?: string }) => {
      if (m.kind !== "enrolled" || m.index === undefined) return;
      hosts.push({
        stateDir: `hosts/${m.index}`,
        instanceId: String(m.instanceId),
        boxPublicKey: String(m.boxPublicKey),
      });
      if (hosts.length % 100 === 0)
        console.log(`  ${hosts.length} of ${n} enrolled, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    });
  await Promise.all(
    kids.map((k, w) => {
      const items = [];
      for (let i = w; i < n; i += workers) {
        const stateDir = path.join(cache, "hosts", String(i));
        mkdirSync(stateDir, { recursive: true, mode: 0o700 });
        items.push({ index: i, stateDir });
      }
      const done = nextMessage(k, "enroll-done");
      k.send({ kind: "enroll", items, admin, port, ca: certPem, info });
      return done;
    }),
  );
  await Promise.all([...kids, consoleChild].map((k) => stopFork(k)));
  const fleet: Fleet = {
    port,
    admin,
    hosts: hosts.sort((a, b) => Number(a.stateDir.slice(6)) - Number(b.stateDir.slice(6))),
  };
  writeFileSync(manifestPath, JSON.stringify(fleet, replacer), { mode: 0o600 });
  console.log(
    `fleet: ${n} hosts enrolled in ${((performance.now() - t0) / 1000).toFixed(0)} s (${workers} processes), cached in ${path.relative(process.cwd(), cache)}`,
  );
  return fleet;
}
