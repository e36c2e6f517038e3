import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION, type TLoginResponse, type TPreloginResponse } from "@veil/protocol";
import { logIn, signUp } from "./helpers/accounts";
import { DATABASE_URL, startTestConsole, type TestConsole } from "./helpers/console";

const hasRedis = spawnSync("sh", ["-c", "command -v redis-server"]).status === 0;
const reason = !DATABASE_URL ? "DATABASE_URL is not set" : !hasRedis ? "redis-server is not installed" : null;
if (reason) console.warn(`[console multi-node] ${reason}: the two-node test is skipped`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Two console nodes on one PostgreSQL database and one Redis: state and socket rooms are shared. */
describe.skipIf(reason !== null)("two console nodes (PostgreSQL + Redis adapter)", () => {
  let redis: ChildProcess;
  let a: TestConsole;
  let b: TestConsole;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const port = await freePort();
    redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    await new Promise((r) => setTimeout(r, 300));
    const shared = { redisUrl: `redis://127.0.0.1:${port}`, serverSecret: randomBytes(32).toString("base64") };
    a = await startTestConsole({ driver: "postgres", ...shared });
    b = await startTestConsole({ ...shared, databaseUrl: a.running.config.databaseUrl });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await b?.stop();
    await a?.stop();
    if (redis?.pid) process.kill(redis.pid);
  });

  let admin: Awaited<ReturnType<typeof signUp>>;

  it("agrees on fake pre-login salts (shared server secret) and sessions (shared database)", async () => {
    const fa = (await a.api("/api/auth/prelogin", { body: { email: "nobody@example.test" } }))
      .json as TPreloginResponse;
    const fb = (await b.api("/api/auth/prelogin", { body: { email: "nobody@example.test" } }))
      .json as TPreloginResponse;
    expect(fa).toEqual(fb);
    admin = await signUp(a.api, "admin@example.test");
    expect((await b.api("/api/me", { token: admin.token })).status).toBe(200);
  });

  it("revoking a session on node A disconnects its socket on node B", async () => {
    const other = (await logIn(a.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
    const s = connect(`https://localhost:${b.running.httpsPort}/`, {
      transports: ["websocket"],
      ca: b.running.certificate.certPem,
      auth: { token: other.session.token, protocolVersion: PROTOCOL_VERSION },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("connect_error", reject);
    });
    const ended = new Promise<unknown>((resolve) => s.once("session:ended", resolve));
    const gone = new Promise<string>((resolve) => s.once("disconnect", resolve));
    expect(
      (await a.api(`/api/sessions/${other.session.sessionId}`, { method: "DELETE", token: admin.token })).status,
    ).toBe(200);
    expect(await ended).toEqual({ reason: "revoked" });
    expect(await gone).toBe("io server disconnect");
  });
});
