import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { fingerprint, toBase64Url } from "@veil/crypto";
import {
  encodeEnrollment,
  type TCompanionInfoResponse,
  type TE2EResponse,
  type TInstanceResponse,
} from "@veil/protocol";
import { client, type Client } from "./helpers/http";
import {
  browserSocket,
  companionStateDir,
  connected,
  eventually,
  makeInstance,
  RelaySession,
  signGrantBundle,
  signUpKeyed,
  spawnCompanion,
  type BrowserMadeInstance,
  type KeyedAccount,
} from "./helpers/instances";

// Issue 4, faults: the real console, in its own process, is killed with SIGKILL five times during a
// stream of numbered requests from a browser to the real companion CLI, and started again each time
// on the same data folder and port (so the companion's pinned certificate and URL stay valid).
// apps/companion/test/faults.test.ts checks the same promise against an in-process stand-in.

const CHILD_SCRIPT = path.join(import.meta.dirname, "helpers", "console-child.ts");
const CONSOLE_DIR = path.join(import.meta.dirname, "..");
const KILLS = 5;
const REQUESTS = 40;

/** One run of the console child: its process, when it exits, and where it listens. */
interface ConsoleRun {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly port: number;
  readonly certPem: string;
}

/** Starts the console in its own process (through tsx) and resolves once it listens. */
function startConsoleChild(dataDir: string, port: number, output: string[]): Promise<ConsoleRun> {
  const child = fork(CHILD_SCRIPT, [dataDir, String(port)], {
    execArgv: ["--import", "tsx"],
    cwd: CONSOLE_DIR,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const keep = (chunk: Buffer): void => void output.push(chunk.toString("utf8"));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the console did not start within 30 s:\n${output.join("")}`));
    }, 30_000);
    child.once("message", (message) => {
      clearTimeout(timer);
      const ready = message as { kind: string; port: number; certPem: string };
      resolve({ child, exited, port: ready.port, certPem: ready.certPem });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the console exited (${code ?? signal ?? "?"}) before it listened:\n${output.join("")}`));
    });
  });
}

/** Resolves once nothing listens on `port` any more (a listener of our own can bind it). */
async function waitForFreePort(port: number): Promise<void> {
  const tryBind = (): Promise<boolean> =>
    new Promise((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
  await eventually(tryBind, 10_000, `port ${port} to be free`);
}

/** The companion's JSON log lines (it writes one object per line on stderr). */
function logLines(output: string): { msg?: string; requestId?: string }[] {
  const lines: { msg?: string; requestId?: string }[] = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line) as { msg?: string; requestId?: string });
    } catch {
      // A line cut by the end of the output so far: read again on the next call.
    }
  }
  return lines;
}

describe("faults: the real console killed (SIGKILL) and restarted five times during a stream of numbered requests", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "veil-console-restarts-"));
  const stateDir = companionStateDir();
  const consoleOutput: string[] = [];
  /** Every console child started, with the promise of its exit (afterAll kills any still running). */
  const children = new Map<ChildProcess, Promise<void>>();
  const sockets: Socket[] = [];
  let current: ConsoleRun;
  let api: Client;
  let admin: KeyedAccount;
  let inst: BrowserMadeInstance;
  let companion: ReturnType<typeof spawnCompanion> | undefined;

  const start = async (port: number): Promise<ConsoleRun> => {
    const run = await startConsoleChild(dataDir, port, consoleOutput);
    children.set(run.child, run.exited);
    api = client(run.port, run.certPem);
    return run;
  };

  /**
   * Kills the console with SIGKILL the moment the companion logs a line about one of `ids` (it
   * writes each request's log line while it works through the batch, before the answers leave),
   * or after 5 s if it logs none.
   */
  const killWhenCompanionLogs = (ids: readonly string[]): Promise<void> =>
    new Promise((resolve) => {
      const streams = [companion?.stdout, companion?.stderr];
      const kill = (): void => {
        clearTimeout(timer);
        for (const s of streams) s?.off("data", onData);
        current.child.kill("SIGKILL");
        resolve();
      };
      const onData = (chunk: Buffer): void => {
        const text = chunk.toString("utf8");
        if (ids.some((id) => text.includes(id))) kill();
      };
      const timer = setTimeout(kill, 5000);
      for (const s of streams) s?.on("data", onData);
    });

  /** Waits until the companion holds a socket on the console started at `since` (ms). */
  const companionOnlineSince = (since: number): Promise<void> =>
    eventually(
      async () => {
        const r = await api(`/api/instances/${inst.instanceId}`, { token: admin.token });
        if (r.status !== 200) throw new Error(`instance lookup failed: ${r.status} ${r.text}`);
        const { presence } = (r.json as TInstanceResponse).instance;
        // After a SIGKILL the row still says online (nobody marked it offline): only a connection
        // recorded by the new console counts.
        return presence.online && Date.parse(presence.lastSeenAt ?? "") >= since;
      },
      // Kills this close together leave the companion's backoff growing (a connection resets it
      // only once held 5 s): up to its 60 s cap, on a slow machine, by the last restart.
      75_000,
      "the companion to come back online",
    );

  beforeAll(async () => {
    // A copy of the migrated PGlite template spares the first start ~6 s (global-setup.ts).
    const template = inject("pgliteTemplate");
    if (template && existsSync(path.join(template, "pglite")))
      cpSync(path.join(template, "pglite"), path.join(dataDir, "pglite"), { recursive: true });
    const startedAt = Date.now();
    current = await start(0);
    admin = await signUpKeyed(api, "admin@example.test");
    inst = await makeInstance(admin, "site under faults");
    const created = await api("/api/instances", { body: inst.body, token: admin.token });
    expect(created.status, created.text).toBe(201);
    const info = (await api("/api/companion-info", { token: admin.token })).json as TCompanionInfoResponse;
    const enroll = spawnCompanion("enroll", stateDir, {
      VEIL_ENROLL: encodeEnrollment({
        consoleUrl: info.consoleUrl,
        instanceId: inst.instanceId,
        token: inst.token,
        signerFingerprint: toBase64Url(fingerprint(admin.identity.publicKey)),
        consolePin: info.consolePin,
      }),
    });
    expect(await enroll.exit, enroll.output()).toBe(0);
    // Debug level: the companion logs "request executed" with the request id for every run.
    companion = spawnCompanion("run", stateDir, { VEIL_LOG_LEVEL: "debug" });
    await companionOnlineSince(startedAt);
  });

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    if (companion && companion.exitCode === null && companion.signalCode === null) {
      companion.kill("SIGTERM");
      const stopped = await Promise.race([
        companion.exit.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!stopped) companion.kill("SIGKILL");
    }
    for (const [child, exited] of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("no request runs twice and none is lost silently", async () => {
    const bundle = signGrantBundle(admin, admin, inst.instanceId, "admin");
    const ids = Array.from({ length: REQUESTS }, () => randomUUID());
    const expiresAt = Date.now() + 4 * 60_000;
    const answered = new Map<string, TE2EResponse>();
    const failures: string[] = [];
    const port = current.port;
    let kills = 0;
    let startedAt = 0;
    for (let round = 1; answered.size < ids.length; round++) {
      // Five kills and a calm round need six; the rest is slack for a session lost to timing.
      expect(round, `answered ${answered.size} of ${ids.length}`).toBeLessThanOrEqual(12);
      if (startedAt) await companionOnlineSince(startedAt);
      const socket = browserSocket(port, current.certPem, admin.token);
      sockets.push(socket);
      const b = new RelaySession(socket, {
        instanceId: inst.instanceId,
        instanceBoxPublicKey: inst.box.publicKey,
        account: admin,
        bundle,
      });
      let killed = false;
      try {
        await connected(socket);
        const { ack } = await b.open();
        if (!ack.ok) throw new Error(`session refused: ${ack.error.code}`);
        const pending = ids.filter((id) => !answered.has(id));
        const gone = new Promise<void>((resolve) => socket.once("disconnect", () => resolve()));
        for (const [n, id] of pending.entries()) {
          b.send("ping", {}, { id, expiresAt });
          if (kills < KILLS && n === 7) {
            // Kill the console mid-stream, the moment the companion logs one of the eight sent: some
            // requests ran, some answers are in flight, and the rest never leave the browser.
            await killWhenCompanionLogs(pending.slice(0, n + 1));
            await current.exited;
            kills += 1;
            killed = true;
          }
        }
        // A killed console answers nothing more once the browser's socket has dropped; a live one
        // gets time to answer the whole batch.
        const all = eventually(() => pending.every((id) => b.responses.has(id)), 15_000, "every answer");
        await (killed ? Promise.race([gone, all.catch(() => undefined)]) : all.catch(() => undefined));
      } catch {
        // The handshake was lost (the companion not yet back): a new session tries again.
      } finally {
        for (const [id, answer] of b.responses) if (!answered.has(id)) answered.set(id, answer);
        failures.push(...b.failures);
        socket.disconnect();
        b.session?.close();
      }
      if (killed) {
        await waitForFreePort(port);
        startedAt = Date.now();
        current = await start(port);
      }
    }

    expect(kills).toBe(KILLS);
    expect(failures).toEqual([]);
    const executed = logLines(companion?.output() ?? "").filter((l) => l.msg === "request executed");
    for (const id of ids) {
      expect(executed.filter((l) => l.requestId === id).length, `executions of ${id}`).toBe(1);
      expect(answered.get(id), id).toMatchObject({ kind: "result", id, type: "ping" });
    }
    // Nothing else ran, and the case that matters happened: a request ran on a console killed
    // before its answer reached the browser, and its resend was answered from the companion's record.
    expect(executed.length).toBe(ids.length);
    const repeated = logLines(companion?.output() ?? "").filter(
      (l) => l.msg === "request repeated: answering from the record",
    );
    expect(repeated.length, "requests answered from the record after a kill").toBeGreaterThan(0);
  }, 240_000);
});
