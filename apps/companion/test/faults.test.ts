import { randomUUID } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import type { TRelayFrame } from "../src/protocol";
import type { RunningCompanion } from "../src/run/start-companion";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, signGrant, type TestAccount, type TestInstance } from "./harness/fixtures";
import { BrowserSession, SessionClosed, waitUntil } from "./harness/browser";
import { realChannel, restoreBrowserGlobals } from "./harness/real-channel";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

/** What became of one request a browser sent. */
type Outcome = "answered" | `closed: ${string}` | "timed out";

describe("faults: the console killed and restarted five times during a stream of numbered requests", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const state = tempStateDir();
  const { logger, lines } = captureLogger();
  let instance: TestInstance;
  let companion: RunningCompanion;

  beforeAll(async () => {
    await consoleServer.start();
    instance = await makeInstance(makeAccount());
    consoleServer.instances.set(instance.instanceId, instance.record);
    await enrollInto(state.dir, instance.enrollment(consoleServer.url, cert.pin), logger);
    companion = runCompanion(state.dir, logger);
  });
  afterAll(async () => {
    restoreBrowserGlobals();
    companion.stop();
    await companion.finished;
    await consoleServer.stop();
    state.cleanup();
  });

  const logged = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  /** Handler runs for request `id`, whatever their outcome (each ends in one of these lines: dispatch-request.ts). */
  const runs = (id: string): number =>
    logged().filter(
      (l) =>
        l.requestId === id &&
        (l.msg === "request executed" || l.msg === "request failed" || l.msg === "request produced an invalid result"),
    ).length;
  /** Why the companion closed session `sessionId`, as it logged it. */
  const closedAtCompanion = (sessionId: string): unknown =>
    logged().find((l) => l.msg === "session closed" && l.sessionId === sessionId)?.reason;

  /** Sends `id` and says what became of it: an answer, the session's end (and why), or nothing in `timeoutMs`. */
  const send = (
    b: BrowserSession,
    id: string,
    expiresAt: number,
    answered: Map<string, string>,
    timeoutMs: number,
  ): Promise<Outcome> => {
    b.sendRaw(b.seal("ping", {}, { id, expiresAt }).frame);
    return b.waitFor(id, timeoutMs).then(
      (r): Outcome => {
        answered.set(id, JSON.stringify(r));
        return "answered";
      },
      (e: unknown): Outcome => (e instanceof SessionClosed ? `closed: ${e.reason}` : "timed out"),
    );
  };

  it("no request runs twice and none is lost silently: the browser is told at once that its session died", async () => {
    const account = makeAccount();
    const bundle = signGrant({ signer: instance.admin, account, instanceId: instance.instanceId, role: "operator" });
    const ids: string[] = Array.from({ length: 40 }, () => randomUUID());
    const expiresAt = Date.now() + 4 * 60_000;
    const answered = new Map<string, string>();
    // 5 rounds cut short by a kill, one that finishes, and a few handshakes lost to a restart.
    const MAX_ROUNDS = 10;
    let rounds = 0;
    let restarts = 0;
    while (answered.size < ids.length && rounds < MAX_ROUNDS) {
      rounds += 1;
      await waitUntil(() => consoleServer.isOnline(instance.instanceId), 10_000, "companion back online");
      const b = new BrowserSession(consoleServer, {
        instanceId: instance.instanceId,
        instanceBoxPublicKey: instance.box.publicKey,
        account,
        bundle,
      });
      try {
        await b.open();
      } catch {
        b.dispose();
        continue; // handshake lost to a restart: open a new session
      }
      const kill = restarts < 5;
      let restarted: Promise<unknown> = Promise.resolve();
      const outcomes: Promise<Outcome>[] = [];
      for (const [n, id] of ids.filter((i) => !answered.has(i)).entries()) {
        // A closed session sends nothing more (as the real channel: `closed`).
        if (b.closed) break;
        // Only a kill may fail a request here, and it must fail at once: a request left to time
        // out would be a loss the browser was not told about.
        outcomes.push(send(b, id, expiresAt, answered, 5000));
        if (kill && n === 3) {
          // Kill the console mid-stream: some requests ran, some were in flight, some never left.
          restarts += 1;
          restarted = consoleServer.stop().then(() => consoleServer.start());
        }
      }
      const results = await Promise.all(outcomes);
      await restarted;
      b.dispose();
      if (kill) {
        // The browser's socket died with the console: its session ended "unavailable", and every
        // request it had no answer to failed with that at once.
        expect(b.closedReason).toBe("unavailable");
        const lost = results.filter((r) => r !== "answered");
        expect(lost.length).toBeGreaterThan(0);
        expect(new Set(lost)).toEqual(new Set(["closed: unavailable"]));
        expect(closedAtCompanion(b.sessionId)).toBe("disconnected");
      } else {
        expect(results.every((r) => r === "answered")).toBe(true);
        expect(b.closedReason).toBeUndefined();
      }
    }
    expect(restarts).toBe(5);
    expect(rounds).toBeLessThanOrEqual(MAX_ROUNDS);
    for (const id of ids) {
      expect(runs(id), id).toBe(1);
      expect(JSON.parse(answered.get(id) ?? "{}")).toMatchObject({ kind: "result", id, type: "ping" });
    }
    // Requests that ran before a kill lost their answers with it; resent, they were answered from
    // the companion's record instead of running again (the case at-most-once is for).
    const repeated = logged().filter((l) => l.msg === "request repeated: answering from the record");
    expect(repeated.length).toBeGreaterThan(0);
    expect(repeated.every((l) => ids.includes(l.requestId as string))).toBe(true);
    expect(consoleServer.connections).toBeGreaterThanOrEqual(6);
  });

  it("the real browser channel is told when the console dies: its session ends `unavailable` and a pending request fails", async () => {
    await waitUntil(() => consoleServer.isOnline(instance.instanceId), 10_000, "online");
    const account = makeAccount();
    const c = await realChannel(consoleServer, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      bundle: signGrant({ signer: instance.admin, account, instanceId: instance.instanceId, role: "viewer" }),
    });
    await c.channel.open();
    expect(await c.channel.request("ping", {})).toMatchObject({ receivedAt: expect.any(Number) as unknown });
    // The console withholds the next answer, then dies.
    consoleServer.tamper.toBrowser = (f) => (f.sessionId === c.channel.sessionId ? null : f);
    const pending = c.channel.request("ping", {}, 10_000);
    await waitUntil(
      () => consoleServer.relayed.filter((f) => f.sessionId === c.channel.sessionId).length >= 3,
      5000,
      "the answer reached the console",
    );
    const restarted = consoleServer.stop().then(() => consoleServer.start());
    await expect(pending).rejects.toMatchObject({ name: "ChannelError", code: "unavailable" });
    expect(c.closes).toEqual(["unavailable"]);
    expect(c.channel.closed).toBe(true);
    await restarted;
    consoleServer.tamper = {};
  });

  it("the companion's network cut and restored mid-stream: sessions open during the cut end, and each request runs exactly once", async () => {
    // A TCP relay stands in for the network between companion and console; TLS passes through it.
    const links = new Set<Socket>();
    /** Companion-side sockets of the link: stalling them loses what the companion sends. */
    const fromCompanion = new Set<Socket>();
    let proxy: Server | undefined;
    let port = 0;
    const listen = (): Promise<void> =>
      new Promise((resolve) => {
        proxy = createServer((inbound) => {
          const outbound = connect(consoleServer.port, "127.0.0.1");
          links.add(inbound).add(outbound);
          fromCompanion.add(inbound);
          inbound.pipe(outbound).pipe(inbound);
          const drop = (): void => {
            inbound.destroy();
            outbound.destroy();
          };
          inbound.on("error", drop).on("close", drop);
          outbound.on("error", drop).on("close", drop);
        });
        proxy.listen(port, "127.0.0.1", () => {
          port = (proxy?.address() as { port: number }).port;
          resolve();
        });
      });
    await listen();
    const other = await makeInstance(makeAccount());
    consoleServer.instances.set(other.instanceId, other.record);
    const dir = tempStateDir();
    await enrollInto(dir.dir, other.enrollment(`https://127.0.0.1:${port}`, cert.pin), logger);
    const c = runCompanion(dir.dir, logger);
    await waitUntil(() => consoleServer.isOnline(other.instanceId), 5000, "online through the link");
    const account: TestAccount = makeAccount();
    const bundle = signGrant({ signer: other.admin, account, instanceId: other.instanceId, role: "viewer" });
    const browser = (): BrowserSession =>
      new BrowserSession(consoleServer, {
        instanceId: other.instanceId,
        instanceBoxPublicKey: other.box.publicKey,
        account,
        bundle,
      });
    const ids = Array.from({ length: 30 }, () => randomUUID());
    const expiresAt = Date.now() + 4 * 60_000;
    const answered = new Map<string, string>();

    // Before the cut: the first ten answered.
    const b1 = browser();
    await b1.open();
    const first = await Promise.all(ids.slice(0, 10).map((id) => send(b1, id, expiresAt, answered, 5000)));
    expect(first.every((r) => r === "answered")).toBe(true);
    // The next five reach the companion and run, but the network already loses what it sends
    // back; then it is cut. Their answers are lost.
    for (const s of fromCompanion) s.unpipe();
    const during = ids.slice(10, 15).map((id) => send(b1, id, expiresAt, answered, 5000));
    await waitUntil(() => ids.slice(10, 15).every((id) => runs(id) === 1), 5000, "the five ran");
    // A frame the console holds back, to deliver after the cut.
    const held: { id: string; frame: TRelayFrame } = b1.seal("ping", {}, { id: randomUUID(), expiresAt });
    const before = consoleServer.connections;
    const closed = new Promise<void>((resolve) => proxy?.close(() => resolve()));
    for (const l of links) l.destroy();
    await closed;
    await waitUntil(() => !consoleServer.isOnline(other.instanceId), 5000, "offline");

    // The session open during the cut is over at both ends: the browser is told (as the real
    // console does when a companion goes) and every request still waiting fails with that; the
    // companion dropped it with its connection.
    expect(await Promise.all(during)).toEqual(new Array(5).fill("closed: unavailable"));
    expect(b1.closedReason).toBe("unavailable");
    await waitUntil(() => closedAtCompanion(b1.sessionId) !== undefined, 5000, "the companion closed the session");
    expect(closedAtCompanion(b1.sessionId)).toBe("disconnected");
    b1.dispose();

    await new Promise((r) => setTimeout(r, 500));
    await listen();
    await waitUntil(
      () => consoleServer.isOnline(other.instanceId) && consoleServer.connections > before,
      10_000,
      "back online",
    );
    expect(c.responder.sessionCount).toBe(0);
    // The held frame of the old session, delivered now, opens nothing.
    consoleServer.sendToCompanion(held.frame);
    await waitUntil(
      () => logged().some((l) => l.msg === "frame for unknown session dropped" && l.sessionId === b1.sessionId),
      5000,
      "the held frame dropped",
    );
    expect(runs(held.id)).toBe(0);

    // A new session resends everything unanswered (the five that ran are answered from the
    // companion's record, not run again), the held request, and the rest of the stream.
    const b2 = browser();
    await b2.open();
    const resend = [...ids.filter((id) => !answered.has(id)), held.id];
    const after = await Promise.all(resend.map((id) => send(b2, id, expiresAt, answered, 5000)));
    expect(after.every((r) => r === "answered")).toBe(true);
    const fromRecord = logged().filter((l) => l.msg === "request repeated: answering from the record");
    for (const id of ids.slice(10, 15))
      expect(
        fromRecord.some((l) => l.requestId === id),
        id,
      ).toBe(true);
    for (const id of [...ids, held.id]) {
      expect(runs(id), id).toBe(1);
      expect(JSON.parse(answered.get(id) ?? "{}")).toMatchObject({ kind: "result", id, type: "ping" });
    }
    b2.dispose();
    c.stop();
    await c.finished;
    proxy?.close();
    for (const l of links) l.destroy();
    dir.cleanup();
  });
});
