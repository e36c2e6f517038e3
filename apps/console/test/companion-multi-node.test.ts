import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toBase64Url } from "@veil/crypto";
import { PROTOCOL_VERSION, type TRelayFrame, type TSessionEnded } from "@veil/protocol";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { stepUp } from "./helpers/accounts";
import { DATABASE_URL, startTestConsole, type TestConsole } from "./helpers/console";
import { browserSocket, connected, makeInstance, sendFrame, signUpKeyed, type KeyedAccount } from "./helpers/instances";

const hasRedis = spawnSync("sh", ["-c", "command -v redis-server"]).status === 0;
const reason = !DATABASE_URL ? "DATABASE_URL is not set" : !hasRedis ? "redis-server is not installed" : null;
if (reason) console.warn(`[console companion multi-node] ${reason}: the two-node relay test is skipped`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const next = <T>(s: Socket, event: string): Promise<T> => new Promise((resolve) => s.once(event, (v: T) => resolve(v)));

/** Browser on node A, companion on node B: frames cross through the Redis adapter both ways; revocation on A ends the companion on B. */
describe.skipIf(reason !== null)("relay across two console nodes (PostgreSQL + Redis adapter)", () => {
  let redis: ChildProcess;
  let a: TestConsole;
  let b: TestConsole;
  let admin: KeyedAccount;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const port = await freePort();
    redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    await new Promise((r) => setTimeout(r, 300));
    const shared = {
      redisUrl: `redis://127.0.0.1:${port}`,
      serverSecret: randomBytes(32).toString("base64"),
      rateLimits: { ...DEFAULT_RATE_LIMITS, login: { perIp: 1000, perAccount: 10, windowSeconds: 60 } },
    };
    a = await startTestConsole({ driver: "postgres", ...shared });
    b = await startTestConsole({ ...shared, databaseUrl: a.running.config.databaseUrl });
    admin = await signUpKeyed(a.api, "admin@example.test");
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await b?.stop();
    await a?.stop();
    if (redis?.pid) process.kill(redis.pid);
  });

  it(
    "relays opaque frames between a browser on one node and a companion on another, closes a dropped browser's session there, and revokes across nodes",
    { timeout: 20_000 },
    async () => {
      const inst = await makeInstance(admin, "remote site");
      expect((await a.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);

      const companion = connect(`https://localhost:${b.running.httpsPort}/companion`, {
        transports: ["websocket"],
        ca: b.running.certificate.certPem,
        auth: {
          instanceId: inst.instanceId,
          authKey: inst.body.authKey,
          protocolVersion: PROTOCOL_VERSION,
          companionVersion: "test",
        },
        reconnection: false,
        forceNew: true,
      });
      sockets.push(companion);
      await connected(companion);
      const browser = browserSocket(a.running.httpsPort, a.running.certificate.certPem, admin.token);
      sockets.push(browser);
      await connected(browser);

      const sessionId = toBase64Url(randomBytes(16));
      const hello: TRelayFrame = {
        instanceId: inst.instanceId,
        sessionId,
        kind: "handshake",
        frame: toBase64Url(randomBytes(96)),
      };
      const atCompanion = next<TRelayFrame>(companion, "e2e:frame");
      expect(await sendFrame(browser, hello)).toEqual({ ok: true });
      expect(await atCompanion).toEqual(hello);

      const reply: TRelayFrame = {
        instanceId: inst.instanceId,
        sessionId,
        kind: "handshake",
        frame: toBase64Url(randomBytes(48)),
      };
      const atBrowser = next<TRelayFrame>(browser, "e2e:frame");
      expect(await sendFrame(companion, reply)).toEqual({ ok: true });
      expect(await atBrowser).toEqual(reply);

      const transport: TRelayFrame = {
        instanceId: inst.instanceId,
        sessionId,
        kind: "transport",
        frame: toBase64Url(randomBytes(64)),
      };
      const again = next<TRelayFrame>(companion, "e2e:frame");
      expect(await sendFrame(browser, transport)).toEqual({ ok: true });
      expect(await again).toEqual(transport);

      // Many frames at once reach the companion on the other node in the order they were sent
      // (a reordered frame would end the Noise session).
      const burst = Array.from({ length: 40 }, (_, i) => ({ ...transport, frame: toBase64Url(Buffer.from(`f${i}`)) }));
      const arrived: TRelayFrame[] = [];
      const all = new Promise<void>((resolve) => {
        const on = (f: TRelayFrame): void => {
          arrived.push(f);
          if (arrived.length === burst.length) {
            companion.off("e2e:frame", on);
            resolve();
          }
        };
        companion.on("e2e:frame", on);
      });
      expect(await Promise.all(burst.map((f) => sendFrame(browser, f)))).toEqual(burst.map(() => ({ ok: true })));
      await all;
      expect(arrived.map((f) => f.frame)).toEqual(burst.map((f) => f.frame));

      // The browser goes away without a word: node A closes its session at the companion on node B.
      const closed = next<TRelayFrame>(companion, "e2e:frame");
      browser.disconnect();
      expect(await closed).toEqual({ instanceId: inst.instanceId, sessionId, kind: "close", frame: "" });

      const ended = next<TSessionEnded>(companion, "session:ended");
      const gone = next<string>(companion, "disconnect");
      await stepUp(a.api, admin);
      const started = Date.now();
      expect((await a.api(`/api/instances/${inst.instanceId}/revoke`, { body: {}, token: admin.token })).status).toBe(
        200,
      );
      expect(await ended).toEqual({ reason: "instance_revoked" });
      await gone;
      expect(Date.now() - started).toBeLessThan(5000);
    },
  );
});
