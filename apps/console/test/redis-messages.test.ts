// Whoever can publish on the console nodes' Redis sends bytes straight into every node's socket.io
// adapter. The console, in its own process (a crash ends it, as it would in production), gets
// malformed messages on the adapter's channels and must drop them with a log line and keep
// serving: its API, and the events between nodes that the relay needs.
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { TInstanceResponse, TSessionEnded } from "@veil/protocol";
import { REDIS_ADAPTER_KEY } from "../src/server/socket/redis-adapter";
import { client, type Client } from "./helpers/http";
import {
  connected,
  eventually,
  makeInstance,
  signUpKeyed,
  standInCompanion,
  type KeyedAccount,
} from "./helpers/instances";

const hasRedis = spawnSync("sh", ["-c", "command -v redis-server"]).status === 0;
if (!hasRedis) console.warn("[console redis messages] redis-server is not installed: the test is skipped");

const CHILD_SCRIPT = path.join(import.meta.dirname, "helpers", "console-child.ts");
const CONSOLE_DIR = path.join(import.meta.dirname, "..");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The next `event` on `s`, or a rejection naming it after `ms`. */
function next<T>(s: Socket, event: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    s.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe.skipIf(!hasRedis)("malformed messages on the nodes' Redis", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "veil-console-redis-"));
  const output: string[] = [];
  let redis: ChildProcess;
  let redisUrl: string;
  let child: ChildProcess;
  let exited: Promise<void>;
  let api: Client;
  let port: number;
  let certPem: string;
  let admin: KeyedAccount;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const redisPort = await freePort();
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    redis = spawn(
      "redis-server",
      ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    await new Promise((r) => setTimeout(r, 300));
    // A copy of the migrated PGlite template spares the start ~6 s (global-setup.ts).
    const template = inject("pgliteTemplate");
    if (template && existsSync(path.join(template, "pglite")))
      cpSync(path.join(template, "pglite"), path.join(dataDir, "pglite"), { recursive: true });
    child = fork(CHILD_SCRIPT, [dataDir, "0", redisUrl], {
      execArgv: ["--import", "tsx"],
      cwd: CONSOLE_DIR,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const keep = (chunk: Buffer): void => void output.push(chunk.toString("utf8"));
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const ready = await new Promise<{ port: number; certPem: string }>((resolve, reject) => {
      child.once("message", (m) => resolve(m as { port: number; certPem: string }));
      child.once("exit", (code) => reject(new Error(`the console exited (${code}):\n${output.join("")}`)));
    });
    ({ port, certPem } = ready);
    api = client(port, certPem);
    admin = await signUpKeyed(api, "admin@example.test");
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    if (redis?.pid) process.kill(redis.pid);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    "are dropped with a log line: the node keeps answering, and a well-formed event from another node still works",
    {
      timeout: 30_000,
    },
    async () => {
      // A companion connected to the node, online.
      const inst = await makeInstance(admin, "site behind a shared redis");
      expect((await api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
      const companion = standInCompanion(`https://localhost:${port}`, certPem, inst);
      sockets.push(companion);
      await connected(companion);
      await eventually(
        async () =>
          ((await api(`/api/instances/${inst.instanceId}`, { token: admin.token })).json as TInstanceResponse).instance
            .presence.online,
        5000,
        "the companion to show online",
      );

      const evil = createClient({ url: redisUrl });
      await evil.connect();
      const requests = (nsp: string): string => `${REDIS_ADAPTER_KEY}-request#${nsp}#`;
      try {
        // Server-side events whose data socket.io cannot apply, or that name a namespace's own event.
        await evil.publish(requests("/companion"), JSON.stringify({ uid: "x", type: 6, data: 5 }));
        await evil.publish(requests("/"), JSON.stringify({ uid: "x", type: 6, data: 5 }));
        await evil.publish(requests("/companion"), JSON.stringify({ uid: "x", type: 6, data: ["connection", {}] }));
        // With an acknowledgement asked for, on data that is no array; a room query with no rooms.
        await evil.publish(requests("/companion"), JSON.stringify({ uid: "x", type: 6, requestId: "r", data: 7 }));
        await evil.publish(requests("/"), JSON.stringify({ uid: "x", type: 0, requestId: "r", rooms: 5 }));
        // A broadcast that is not MessagePack at all.
        await evil.publish(`${REDIS_ADAPTER_KEY}#/companion#`, Buffer.from([0xc1, 0x00]));
      } finally {
        await evil.quit();
      }

      // Another node on the same Redis revokes the instance: its companion here is told and ends.
      const pub = createClient({ url: redisUrl });
      const sub = pub.duplicate();
      await Promise.all([pub.connect(), sub.connect()]);
      const other = new Server();
      other.adapter(createAdapter(pub, sub, { key: REDIS_ADAPTER_KEY }));
      try {
        const ended = next<TSessionEnded>(companion, "session:ended");
        other.of("/companion").serverSideEmit("node:revoke", inst.instanceId);
        // Unguarded, the first malformed message has ended the console by now: its output says why.
        const outcome = await Promise.race([ended, exited.then(() => "the console exited")]);
        expect(outcome, output.join("")).toEqual({ reason: "instance_revoked" });
      } finally {
        await Promise.all([other.of("/").adapter.close(), other.of("/companion").adapter.close()]);
        await Promise.all([pub.quit(), sub.quit()]).catch(() => undefined);
      }

      expect(child.exitCode, output.join("")).toBeNull();
      expect((await api("/api/health")).status).toBe(200);
      const log = output.join("");
      expect(log).toContain("redis: a malformed server-side event for /companion was dropped");
      expect(log).toContain("redis: a malformed server-side event for / was dropped");
      expect(log).toContain("redis: a message for / failed and was dropped");
      expect(log).toContain("redis: a message for /companion failed and was dropped");
    },
  );
});
