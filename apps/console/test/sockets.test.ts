import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import { MAX_SOCKET_MESSAGE_BYTES, PROTOCOL_VERSION } from "@veil/protocol";
import type { TLoginResponse } from "@veil/protocol";
import { logIn, signUp, type TestAccount } from "./helpers/accounts";
import { startTestConsole, type TestConsole } from "./helpers/console";

interface Outcome {
  connected: boolean;
  error?: string;
  data?: unknown;
  /** The HTTP status of a refusal at the transport (before socket.io reads the handshake). */
  httpStatus?: number;
}

describe("socket.io on the HTTPS port and the inform port (PGlite)", () => {
  let c: TestConsole;
  let admin: TestAccount;
  const open: Socket[] = [];
  const logs: string[] = [];

  function socket(options: {
    port?: number;
    namespace?: string;
    auth?: Record<string, unknown>;
    origin?: string;
    query?: Record<string, string>;
    transport?: "websocket" | "polling";
  }): Socket {
    const port = options.port ?? c.running.httpsPort;
    const s = connect(`https://localhost:${port}${options.namespace ?? "/"}`, {
      transports: [options.transport ?? "websocket"],
      ca: c.running.certificate.certPem,
      auth: options.auth ?? {},
      query: options.query ?? {},
      extraHeaders: options.origin ? { origin: options.origin } : {},
      reconnection: false,
      forceNew: true,
      timeout: 5000,
    });
    open.push(s);
    return s;
  }

  function outcome(s: Socket): Promise<Outcome> {
    return new Promise((resolve) => {
      s.once("connect", () => resolve({ connected: true }));
      s.once("connect_error", (e: Error & { data?: unknown; description?: unknown; context?: unknown }) => {
        // A refusal at the transport: polling reports the HTTP status, WebSocket the upgrade's answer.
        const polled = (e.context as { status?: unknown } | undefined)?.status;
        const message = (e.description as { message?: unknown } | undefined)?.message;
        const upgrade = /Unexpected server response: (\d{3})/.exec(typeof message === "string" ? message : "");
        const httpStatus = typeof polled === "number" ? polled : upgrade ? Number(upgrade[1]) : undefined;
        resolve({ connected: false, error: e.message, data: e.data, ...(httpStatus ? { httpStatus } : {}) });
      });
    });
  }

  const auth = (token: string) => ({ token, protocolVersion: PROTOCOL_VERSION });

  beforeAll(async () => {
    c = await startTestConsole({ informPort: 0, socketSweepMs: 250, log: (line) => logs.push(line) });
    admin = await signUp(c.api, "admin@example.test");
  });
  afterAll(async () => {
    for (const s of open) s.disconnect();
    await c?.stop();
  });

  it("connects with the session token in the handshake auth and our own Origin", async () => {
    const s = socket({ auth: auth(admin.token), origin: `https://localhost:${c.running.httpsPort}` });
    expect(await outcome(s)).toEqual({ connected: true });
    s.disconnect();
  });

  it("refuses a cross-site Origin (cross-site socket hijacking), over WebSocket and polling", async () => {
    for (const transport of ["websocket", "polling"] as const) {
      // The control: the same token over the same transport from our own Origin connects.
      const own = socket({ auth: auth(admin.token), origin: `https://localhost:${c.running.httpsPort}`, transport });
      expect(await outcome(own), transport).toEqual({ connected: true });
      own.disconnect();
      // From another site it is refused at the transport (allowRequest), before the token is read.
      const s = socket({ auth: auth(admin.token), origin: "https://evil.example", transport });
      const o = await outcome(s);
      // engine.io answers a refused upgrade 400 and a refused poll 403.
      expect(o, transport).toMatchObject({ connected: false, httpStatus: transport === "websocket" ? 400 : 403 });
    }
  });

  it("refuses a token in the query string and a missing or wrong token", async () => {
    const q = await outcome(socket({ auth: { protocolVersion: PROTOCOL_VERSION }, query: { token: admin.token } }));
    expect(q.connected).toBe(false);
    const withBoth = await outcome(socket({ auth: auth(admin.token), query: { token: admin.token } }));
    expect(withBoth.connected).toBe(false);
    const none = await outcome(socket({}));
    expect(none).toMatchObject({ connected: false, data: { error: { code: "unauthenticated" } } });
    const wrong = await outcome(socket({ auth: auth("A".repeat(43)) }));
    expect(wrong).toMatchObject({ connected: false, data: { error: { code: "unauthenticated" } } });
    const oldProtocol = await outcome(socket({ auth: { token: admin.token, protocolVersion: 0 } }));
    expect(oldProtocol).toMatchObject({ connected: false, data: { error: { code: "protocol_version_unsupported" } } });
  });

  it("validates event payloads and acknowledges with a stable error", async () => {
    const s = socket({ auth: auth(admin.token) });
    await outcome(s);
    const bad = (await s.timeout(3000).emitWithAck("e2e:frame", { nonsense: true })) as {
      ok: boolean;
      error?: { code: string };
    };
    expect(bad).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    s.disconnect();
  });

  it("caps message size: an oversized message closes the socket", async () => {
    const s = socket({ auth: auth(admin.token) });
    await outcome(s);
    const closed = new Promise<string>((resolve) => s.once("disconnect", (reason) => resolve(reason)));
    s.emit("e2e:frame", { frame: "A".repeat(MAX_SOCKET_MESSAGE_BYTES + 10) });
    expect(await closed).toMatch(/transport close|transport error/);
  });

  it("cuts off a socket that sends but stops reading, before what it is owed piles up", async () => {
    const s = socket({ auth: auth(admin.token) });
    await outcome(s);
    // The client stops reading its TLS socket but keeps sending: each event is acknowledged,
    // and once the kernel's buffers are full the acknowledgements wait in the console's memory.
    const tls = (s.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
    tls.pause();
    const gone = new Promise<string>((resolve) => s.once("disconnect", resolve));
    const cut = () => logs.some((l) => l.startsWith("browser socket cut:"));
    for (let round = 0; round < 100 && !cut(); round++) {
      for (let i = 0; i < 5_000; i++) s.emit("e2e:frame", 0, () => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(cut()).toBe(true);
    tls.resume();
    expect(await gone).toMatch(/transport close|transport error/);
  }, 60_000);

  it("revoking a session and logging out disconnect that session's sockets (and only those)", async () => {
    const other = (await logIn(c.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
    const victim = socket({ auth: auth(other.session.token) });
    const bystander = socket({ auth: auth(admin.token) });
    await Promise.all([outcome(victim), outcome(bystander)]);
    const ended = new Promise<unknown>((resolve) => victim.once("session:ended", resolve));
    const gone = new Promise<string>((resolve) => victim.once("disconnect", resolve));
    expect(
      (await c.api(`/api/sessions/${other.session.sessionId}`, { method: "DELETE", token: admin.token })).status,
    ).toBe(200);
    expect(await ended).toEqual({ reason: "revoked" });
    expect(await gone).toBe("io server disconnect");
    expect(bystander.connected).toBe(true);
    // The revoked token cannot reconnect.
    expect((await outcome(socket({ auth: auth(other.session.token) }))).connected).toBe(false);

    const third = (await logIn(c.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
    const s3 = socket({ auth: auth(third.session.token) });
    await outcome(s3);
    const gone3 = new Promise<string>((resolve) => s3.once("disconnect", resolve));
    await c.api("/api/auth/logout", { body: {}, token: third.session.token });
    expect(await gone3).toBe("io server disconnect");
    expect(bystander.connected).toBe(true);
  });

  it("a socket that connects while its session is logged out is ended at once, not left until the sweep", async () => {
    const s = (await logIn(c.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
    const { sessions } = await import("@veil/db");
    const { eq } = await import("drizzle-orm");
    const db = c.running.services.db;
    // Last seen a minute ago: the socket's authentication writes last_seen_at after its check.
    await db
      .update(sessions)
      .set({ lastSeenAt: new Date(Date.now() - 60_000) })
      .where(eq(sessions.id, s.session.sessionId));
    // That write waits for a logout of the same session, as a slow database would let one in:
    // the logout tells the session's room before the socket has joined it.
    const realUpdate = db.update.bind(db);
    let held = false;
    const patched = (table: typeof sessions) => {
      if (held || table !== sessions) return realUpdate(table);
      held = true;
      const loggedOut = c.api("/api/auth/logout", { body: {}, token: s.session.token });
      return {
        set: (values: Parameters<ReturnType<typeof realUpdate>["set"]>[0]) => ({
          where: (where: Parameters<ReturnType<ReturnType<typeof realUpdate>["set"]>["where"]>[0]) =>
            loggedOut.then(() => realUpdate(table).set(values).where(where)),
        }),
      };
    };
    Object.assign(db, { update: patched });
    try {
      const sock = socket({ auth: auth(s.session.token) });
      const ended = new Promise<unknown>((resolve) => sock.once("session:ended", resolve));
      const gone = new Promise<string>((resolve) => sock.once("disconnect", resolve));
      expect(await outcome(sock)).toEqual({ connected: true });
      expect(held).toBe(true);
      // Ended by the check once it is connected ("revoked"), not by the sweep ("expired").
      expect(await ended).toEqual({ reason: "revoked" });
      expect(await gone).toBe("io server disconnect");
    } finally {
      Object.assign(db, { update: realUpdate });
    }
  });

  it("disconnects sockets whose session expired while they were connected", async () => {
    const s = (await logIn(c.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
    const sock = socket({ auth: auth(s.session.token) });
    await outcome(sock);
    const ended = new Promise<unknown>((resolve) => sock.once("session:ended", resolve));
    const { sessions } = await import("@veil/db");
    const { eq } = await import("drizzle-orm");
    await c.running.database.db
      .update(sessions)
      .set({ lastSeenAt: new Date(Date.now() - 2 * 86_400_000) })
      .where(eq(sessions.id, s.session.sessionId));
    expect(await ended).toEqual({ reason: "expired" });
  });

  it("the inform port serves only the companion namespace and refuses browsers", async () => {
    const port = c.running.informPort ?? 0;
    expect(port).toBeGreaterThan(0);
    const ui = await outcome(socket({ port, auth: auth(admin.token) }));
    expect(ui.connected).toBe(false);
    const browser = await outcome(socket({ port, namespace: "/companion", origin: `https://localhost:${port}` }));
    expect(browser.connected).toBe(false);
    const companionAuth = {
      instanceId: "7d8f1f8e-2c1a-4b7e-9a51-0d3c1f7a9b10",
      authKey: "A".repeat(43),
      protocolVersion: PROTOCOL_VERSION,
      companionVersion: "0.1.0",
    };
    const unknown = await outcome(socket({ port, namespace: "/companion", auth: companionAuth }));
    expect(unknown).toMatchObject({
      connected: false,
      error: "unauthenticated",
      data: { error: { code: "unauthenticated" } },
    });
    const malformed = await outcome(socket({ port, namespace: "/companion", auth: { instanceId: "x" } }));
    expect(malformed).toMatchObject({ connected: false, error: "bad_request" });
    // Without an inform port, companions use the main port's /companion namespace.
    const onMain = await outcome(socket({ namespace: "/companion", auth: companionAuth }));
    expect(onMain).toMatchObject({ connected: false, error: "unauthenticated" });
    const { call } = await import("./helpers/http");
    const page = await call(port, "/", { ca: c.running.certificate.certPem });
    expect(page.status).toBe(404);
    const api = await call(port, "/api/health", { ca: c.running.certificate.certPem });
    expect(api.status).toBe(404);
  });
});
