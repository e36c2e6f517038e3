import { randomUUID } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import type { RunningCompanion } from "../src/run/start-companion";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, signGrant, type TestInstance } from "./harness/fixtures";
import { BrowserSession, waitUntil } from "./harness/browser";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

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
    companion.stop();
    await companion.finished;
    await consoleServer.stop();
    state.cleanup();
  });

  it("no request runs twice and none is lost silently", async () => {
    const account = makeAccount();
    const bundle = signGrant({ signer: instance.admin, account, instanceId: instance.instanceId, role: "operator" });
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const expiresAt = Date.now() + 4 * 60_000;
    const answered = new Map<string, string>();
    let restarts = 0;
    while (answered.size < ids.length) {
      await waitUntil(() => consoleServer.isOnline(instance.instanceId), 10_000, "companion back online");
      const b = new BrowserSession(consoleServer, {
        instanceId: instance.instanceId,
        instanceBoxPublicKey: instance.box.publicKey,
        account,
        bundle,
      });
      try {
        await b.open();
        const pending = ids.filter((id) => !answered.has(id));
        const waits = pending.map((id, n) => {
          b.sendRaw(b.seal("ping", {}, { id, expiresAt }).frame);
          if (restarts < 5 && n === 3) {
            // Kill the console mid-stream: some requests ran, some were in flight, some never left.
            restarts += 1;
            void consoleServer.stop().then(() => consoleServer.start());
          }
          return b.waitFor(id, 1500).then(
            (r) => answered.set(id, JSON.stringify(r)),
            () => undefined,
          );
        });
        await Promise.all(waits);
      } catch {
        // handshake lost to a restart: open a new session
      } finally {
        b.dispose();
      }
    }
    expect(restarts).toBe(5);
    for (const id of ids) {
      expect(lines.filter((l) => l.includes('"request executed"') && l.includes(id)).length, id).toBe(1);
      expect(JSON.parse(answered.get(id) ?? "{}")).toMatchObject({ kind: "result", id, type: "ping" });
    }
    expect(consoleServer.connections).toBeGreaterThanOrEqual(6);
  });

  it("the companion's network cut and restored: it reconnects and serves again", async () => {
    // A TCP relay stands in for the network between companion and console; TLS passes through it.
    const links = new Set<Socket>();
    let proxy: Server | undefined;
    let port = 0;
    const listen = (): Promise<void> =>
      new Promise((resolve) => {
        proxy = createServer((inbound) => {
          const outbound = connect(consoleServer.port, "127.0.0.1");
          links.add(inbound).add(outbound);
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
    const before = consoleServer.connections;
    // Cut: every connection dies and nothing answers for a while.
    const closed = new Promise<void>((resolve) => proxy?.close(() => resolve()));
    for (const l of links) l.destroy();
    await closed;
    await waitUntil(() => !consoleServer.isOnline(other.instanceId), 5000, "offline");
    await new Promise((r) => setTimeout(r, 500));
    await listen();
    await waitUntil(
      () => consoleServer.isOnline(other.instanceId) && consoleServer.connections > before,
      10_000,
      "back online",
    );
    const account = makeAccount();
    const b = new BrowserSession(consoleServer, {
      instanceId: other.instanceId,
      instanceBoxPublicKey: other.box.publicKey,
      account,
      bundle: signGrant({ signer: other.admin, account, instanceId: other.instanceId, role: "viewer" }),
    });
    await b.open();
    expect(await b.request("ping")).toMatchObject({ kind: "result" });
    b.dispose();
    c.stop();
    await c.finished;
    proxy?.close();
    for (const l of links) l.destroy();
    dir.cleanup();
  });
});
