import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { decodeEnrollment } from "../src/protocol";
import { readStatus } from "../src/cli/status-command";
import type { RunningCompanion } from "../src/run/start-companion";
import { lockStateDir, type StateDirLock } from "../src/run/state-dir-lock";
import { StateStore } from "../src/state/state-store";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, signGrant, type TestAccount, type TestInstance } from "./harness/fixtures";
import { BrowserSession, waitUntil } from "./harness/browser";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

describe("enrolled companion serving end-to-end sessions through a relaying console", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const state = tempStateDir();
  const { logger, lines } = captureLogger();
  let admin: TestAccount;
  let instance: TestInstance;
  let companion: RunningCompanion;
  let enrollment: string;
  let runLock: StateDirLock | undefined;

  beforeAll(async () => {
    await consoleServer.start();
    admin = makeAccount();
    instance = await makeInstance(admin, "warehouse");
    consoleServer.instances.set(instance.instanceId, instance.record);
    enrollment = instance.enrollment(consoleServer.url, cert.pin);
    await enrollInto(state.dir, enrollment, logger);
    // As `veil-companion run` does: `status` takes the holder of run.lock for the live run.
    runLock = lockStateDir(state.dir);
    companion = runCompanion(state.dir, logger, { statusRefreshMs: 100 });
    await waitUntil(() => consoleServer.isOnline(instance.instanceId), 5000, "companion online");
  });

  afterAll(async () => {
    companion.stop();
    await companion.finished;
    runLock?.release();
    await consoleServer.stop();
    state.cleanup();
  });

  const browser = (account: TestAccount, role: "viewer" | "auditor" | "operator" | "admin"): BrowserSession =>
    new BrowserSession(consoleServer, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      bundle: signGrant({ signer: admin, account, instanceId: instance.instanceId, role }),
    });

  it("answers ping and system.info end to end", async () => {
    const b = browser(makeAccount(), "viewer");
    const hello = await b.open();
    expect(hello).toMatchObject({ instanceId: instance.instanceId, role: "viewer" });
    const pong = await b.request("ping");
    expect(pong).toMatchObject({ kind: "result", type: "ping" });
    const info = await b.request("system.info");
    expect(info.kind).toBe("result");
    if (info.kind === "result")
      expect(info.body).toMatchObject({ nodeVersion: process.version, companionVersion: "0.1.0" });
    expect(readStatus(state.dir).sessions.length).toBeGreaterThan(0);
    b.dispose();
  });

  it("rewrites status.json while nothing changes, so a long-connected companion is never reported stale", async () => {
    const first = readStatus(state.dir).connection;
    expect(first).toMatchObject({ state: "connected", stale: false });
    await waitUntil(
      () => (readStatus(state.dir).connection?.updatedAt ?? 0) > (first?.updatedAt ?? 0),
      3000,
      "status.json refreshed",
    );
    // A day after the last refresh it is stale: the refresh is what keeps a live one fresh.
    const updatedAt = readStatus(state.dir).connection?.updatedAt ?? 0;
    expect(readStatus(state.dir, updatedAt + 25 * 3600_000).connection?.stale).toBe(true);
  });

  it("streams system.watch events and stops on subscription.cancel", async () => {
    const b = browser(makeAccount(), "viewer");
    await b.open();
    const sub = await b.request("system.watch", { intervalMs: 1000 });
    expect(sub.kind).toBe("result");
    await waitUntil(() => b.events.length >= 2, 4000, "two snapshots");
    const id = sub.kind === "result" ? (sub.body as { subscriptionId: string }).subscriptionId : "";
    expect(await b.request("subscription.cancel", { subscriptionId: id })).toMatchObject({
      kind: "result",
      body: { cancelled: true },
    });
    const n = b.events.length;
    await new Promise((r) => setTimeout(r, 1300));
    expect(b.events.length).toBe(n);
    expect(b.events.at(-1)).toMatchObject({ kind: "end", reason: "cancelled" });
    b.dispose();
  });

  it("refuses a viewer's write (token.rotate) with a typed error and runs nothing", async () => {
    const b = browser(makeAccount(), "viewer");
    await b.open();
    const before = consoleServer.requests.length;
    expect(await b.request("token.rotate")).toMatchObject({ kind: "error", error: { code: "forbidden" } });
    expect(consoleServer.requests.length).toBe(before);
    b.dispose();
  });

  it("runs a request at most once: the same id again gets the recorded answer", async () => {
    const account = makeAccount();
    const b1 = browser(account, "viewer");
    await b1.open();
    const first = await b1.request("ping", {}, { id: "6f1c9a52-0d7e-4b8e-9a51-3c2d1e0f9a11" });
    const b2 = browser(account, "viewer");
    await b2.open();
    const again = await b2.request("ping", {}, { id: "6f1c9a52-0d7e-4b8e-9a51-3c2d1e0f9a11" });
    expect(again).toEqual(first);
    expect(lines.filter((l) => l.includes('"request executed"') && l.includes("6f1c9a52")).length).toBe(1);
    b1.dispose();
    b2.dispose();
  });

  it("refuses an expired request", async () => {
    const b = browser(makeAccount(), "operator");
    await b.open();
    expect(await b.request("ping", {}, { expiresAt: Date.now() - 1 })).toMatchObject({
      kind: "error",
      error: { code: "expired" },
    });
    b.dispose();
  });

  it("rotates the token end to end for an admin: new enrollment line, console copy replaced, reconnect works", async () => {
    const b = browser(admin, "admin");
    await b.open();
    const oldHash = Buffer.from(instance.record.authKeyHash).toString("hex");
    const res = await b.request("token.rotate");
    expect(res.kind).toBe("result");
    const line = res.kind === "result" ? (res.body as { enrollment: string }).enrollment : "";
    const next = decodeEnrollment(line);
    expect(next.instanceId).toBe(instance.instanceId);
    expect(next.token).not.toBe(decodeEnrollment(enrollment).token);
    expect(Buffer.from(consoleServer.instances.get(instance.instanceId)?.authKeyHash ?? []).toString("hex")).not.toBe(
      oldHash,
    );
    expect(new StateStore(state.dir).loadPendingRotation()).toBeUndefined();
    // The companion reconnects with the new auth key after a console restart.
    const before = consoleServer.connections;
    await consoleServer.stop();
    await consoleServer.start();
    await waitUntil(
      () => consoleServer.connections > before && consoleServer.isOnline(instance.instanceId),
      5000,
      "reconnect",
    );
    b.dispose();
  });

  it("the console sees no content: no relayed frame carries a plaintext, and it stores no secret", () => {
    expect(consoleServer.relayed.length).toBeGreaterThan(10);
    // Needles shorter than 6 bytes (a CI host may be called "ci1") turn up in random ciphertext.
    const needles = [hostname(), "nodeVersion", process.version, '"kind"', "receivedAt", "system.snapshot"]
      .map((n) => Buffer.from(n))
      .filter((n) => n.length >= 6);
    for (const f of consoleServer.relayed) {
      const bytes = Buffer.from(f.frame, "base64url");
      for (const n of needles) expect(bytes.includes(n)).toBe(false);
    }
    const secrets = new StateStore(state.dir).loadSecrets();
    const stored = JSON.stringify(
      [...consoleServer.instances.values()].map((r) => ({
        ...r,
        authKeyHash: Buffer.from(r.authKeyHash).toString("base64url"),
      })),
    );
    for (const secret of [
      decodeEnrollment(enrollment).token,
      secrets?.authKey,
      secrets?.identityPrivateKey,
      secrets?.boxPrivateKey,
    ]) {
      expect(stored).not.toContain(secret ?? "x");
    }
  });

  it("never logs a secret", () => {
    const secrets = new StateStore(state.dir).loadSecrets();
    const all = lines.join("\n");
    expect(all).not.toContain(decodeEnrollment(enrollment).token);
    expect(all).not.toContain(secrets?.authKey ?? "x");
    expect(all).not.toContain(secrets?.boxPrivateKey ?? "x");
    expect(all).not.toContain(secrets?.identityPrivateKey ?? "x");
    expect(all).not.toContain("veil1_");
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });

  it("stops for good when the console revokes the instance", async () => {
    consoleServer.revoke(instance.instanceId);
    expect(await companion.finished).toBe("revoked");
    const before = consoleServer.connections;
    await new Promise((r) => setTimeout(r, 500));
    expect(consoleServer.connections).toBe(before);
  });
});
