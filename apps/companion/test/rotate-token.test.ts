import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { authKey as brandAuthKey, fromBase64Url, hashAuthKey, verifyAuthKey } from "../src/crypto";
import { RequestRefusedError } from "../src/e2e/dispatch-request";
import { COMPANION_API_PREFIX } from "../src/protocol";
import { RotationError, rotateToken } from "../src/rotate/rotate-token";
import { PENDING_ROTATION_SETTLES_AFTER_MS } from "../src/rotate/settle-pending-rotation";
import type { RunningCompanion } from "../src/run/start-companion";
import { StateStore } from "../src/state/state-store";
import { createPinnedTransport, type ConsoleTransport } from "../src/transport/console-transport";
import type { JsonResponse } from "../src/transport/https-json";
import { waitUntil } from "./harness/browser";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, memoDeriveTokenKeys, type TestInstance } from "./harness/fixtures";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

const INTERNAL = { error: { code: "internal", message: "Something went wrong on our side.", retryable: true } };

/** How a test answers `POST …/rotate`: `forward` sends it to the console and returns its answer. */
type RotateHook = (forward: () => Promise<JsonResponse>) => Promise<JsonResponse>;

describe("token rotation: a lost, failed or racing rotation never locks the companion out", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const admin = makeAccount();
  const { logger, lines } = captureLogger();
  const cleanups: (() => void | Promise<void>)[] = [];

  beforeAll(async () => {
    await consoleServer.start();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await consoleServer.stop();
  });

  /** A fresh instance on the console and a companion state folder enrolled into it. */
  async function enrolled(): Promise<{ instance: TestInstance; store: StateStore }> {
    const instance = await makeInstance(admin, "rotating");
    consoleServer.instances.set(instance.instanceId, instance.record);
    const state = tempStateDir();
    cleanups.push(() => state.cleanup());
    await enrollInto(state.dir, instance.enrollment(consoleServer.url, cert.pin), logger);
    return { instance, store: new StateStore(state.dir) };
  }

  /** The pinned transport, with `POST …/rotate` answered by `hook`. */
  function transport(hook?: RotateHook): ConsoleTransport {
    const real = createPinnedTransport(consoleServer.url, cert.pin);
    return {
      openSocket: (auth) => real.openSocket(auth),
      requestJson: (method, path, body) => {
        const forward = () => real.requestJson(method, path, body);
        return hook !== undefined &&
          method === "POST" &&
          path.startsWith(COMPANION_API_PREFIX) &&
          path.endsWith("/rotate")
          ? hook(forward)
          : forward();
      },
    };
  }

  const rotate = (store: StateStore, hook?: RotateHook, now?: () => number) =>
    rotateToken({ store, transport: transport(hook), logger, deriveTokenKeys: memoDeriveTokenKeys, now });

  /** Whether the console takes `key` (base64url) as the instance's auth key now. */
  const consoleHolds = (instance: TestInstance, key: string | undefined) =>
    key !== undefined &&
    verifyAuthKey(
      brandAuthKey(fromBase64Url(key)),
      consoleServer.instances.get(instance.instanceId)?.authKeyHash ?? new Uint8Array(32),
    );

  async function outcome(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return "ok";
    } catch (error) {
      return error instanceof RotationError ? error.outcome : `threw ${String(error)}`;
    }
  }

  function run(store: StateStore): RunningCompanion {
    const companion = runCompanion(store.dir, logger);
    cleanups.push(async () => {
      companion.stop();
      await companion.finished;
    });
    return companion;
  }

  it("a 500 after the console committed keeps the new key pending; the daemon connects with it and only then promotes it", async () => {
    const { instance, store } = await enrolled();
    const old = store.loadSecrets()?.authKey;
    const result = await outcome(
      rotate(store, async (forward) => {
        expect((await forward()).status).toBe(200); // committed on the console…
        return { status: 500, body: INTERNAL }; // …and answered 500 (an audit write failed after the commit)
      }),
    );
    expect(result).toBe("unknown");
    const pending = store.loadPendingRotation()?.authKey;
    expect(consoleHolds(instance, pending)).toBe(true);
    expect(store.loadSecrets()?.authKey).toBe(old);

    const before = consoleServer.connections;
    run(store);
    await waitUntil(() => consoleServer.connections > before, 5000, "the companion back online with the pending key");
    expect(consoleServer.isOnline(instance.instanceId)).toBe(true);
    await waitUntil(() => store.loadPendingRotation() === undefined, 2000, "the pending key promoted");
    expect(store.loadSecrets()?.authKey).toBe(pending);
  });

  it("keeps the pending key on a malformed 200, no answer, a 5xx or a 4xx that is not the console's; drops it on the console's own 4xx", async () => {
    const cases: { name: string; hook: RotateHook; expected: string; kept: boolean }[] = [
      {
        name: "malformed 200",
        hook: async (f) => (await f(), { status: 200, body: { ok: "yes" } }),
        expected: "unknown",
        kept: true,
      },
      {
        name: "no answer",
        hook: async (f) => {
          await f();
          throw new Error("socket hang up");
        },
        expected: "unknown",
        kept: true,
      },
      {
        name: "502 before the console",
        hook: () => Promise.resolve({ status: 502, body: undefined }),
        expected: "unknown",
        kept: true,
      },
      {
        name: "a proxy's 404 page",
        hook: () => Promise.resolve({ status: 404, body: undefined }),
        expected: "unknown",
        kept: true,
      },
      { name: "the console's 401", hook: (f) => f(), expected: "refused", kept: false },
    ];
    for (const c of cases) {
      const { instance, store } = await enrolled();
      const record = consoleServer.instances.get(instance.instanceId);
      if (record !== undefined && c.name === "the console's 401") record.revoked = true;
      const old = store.loadSecrets()?.authKey;
      expect(await outcome(rotate(store, c.hook)), c.name).toBe(c.expected);
      expect(store.loadPendingRotation() !== undefined, c.name).toBe(c.kept);
      expect(store.loadSecrets()?.authKey, c.name).toBe(old);
      expect(existsSync(join(store.dir, "rotation.lock")), c.name).toBe(false);
    }
  });

  it("settles an earlier unconfirmed rotation before starting another, whichever key the console holds", async () => {
    // The console took the earlier key (its 500 came after the commit): promoted, then rotated on.
    const took = await enrolled();
    expect(await outcome(rotate(took.store, async (f) => (await f(), { status: 500, body: INTERNAL })))).toBe(
      "unknown",
    );
    expect(await outcome(rotate(took.store))).toBe("ok");
    expect(took.store.loadPendingRotation()).toBeUndefined();
    expect(consoleHolds(took.instance, took.store.loadSecrets()?.authKey)).toBe(true);

    // The console never saw the earlier request: while it might still commit it, both keys are
    // kept and nothing is sent; later its key is dropped and the current one rotates.
    const never = await enrolled();
    expect(await outcome(rotate(never.store, () => Promise.resolve({ status: 503, body: undefined })))).toBe("unknown");
    const pending = never.store.loadPendingRotation();
    expect(await outcome(rotate(never.store))).toBe("unsettled");
    expect(never.store.loadPendingRotation()).toEqual(pending);
    const later = () => Date.now() + PENDING_ROTATION_SETTLES_AFTER_MS + 1000;
    expect(await outcome(rotate(never.store, undefined, later))).toBe("ok");
    expect(never.store.loadPendingRotation()).toBeUndefined();
    expect(consoleHolds(never.instance, never.store.loadSecrets()?.authKey)).toBe(true);
  });

  it("when the console refuses both keys, both files are kept (rotation and daemon) and the error is logged", async () => {
    const { instance, store } = await enrolled();
    expect(await outcome(rotate(store, () => Promise.resolve({ status: 500, body: INTERNAL })))).toBe("unknown");
    const current = store.loadSecrets()?.authKey;
    const pending = store.loadPendingRotation()?.authKey;
    // The console now holds a third key (another enrollment, a restore): neither of ours.
    const record = consoleServer.instances.get(instance.instanceId);
    if (record !== undefined) record.authKeyHash = hashAuthKey(brandAuthKey(new Uint8Array(32).fill(7)));

    expect(await outcome(rotate(store))).toBe("unsettled");
    expect(store.loadSecrets()?.authKey).toBe(current);
    expect(store.loadPendingRotation()?.authKey).toBe(pending);

    const before = lines.length;
    run(store);
    await waitUntil(
      () =>
        lines.slice(before).filter((l) => l.includes("refused the current auth key and the unconfirmed")).length >= 2,
      5000,
      "two rounds of both keys refused",
    );
    expect(consoleServer.isOnline(instance.instanceId)).toBe(false);
    expect(store.loadSecrets()?.authKey).toBe(current);
    expect(store.loadPendingRotation()?.authKey).toBe(pending);
  });

  it("runs one rotation at a time per state folder: a second one is refused `busy` and the first one's pending key survives", async () => {
    const { instance, store } = await enrolled();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let reached: () => void = () => undefined;
    const inFlight = new Promise<void>((r) => (reached = r));
    const first = outcome(
      rotate(store, async (forward) => {
        reached();
        await gate;
        await forward();
        return { status: 500, body: INTERNAL }; // answered 500 after the commit
      }),
    );
    await inFlight;
    const pendingOfFirst = store.loadPendingRotation()?.authKey;
    expect(await outcome(rotate(store))).toBe("busy");
    expect(store.loadPendingRotation()?.authKey).toBe(pendingOfFirst);
    // The E2E request gets a typed, user-safe error.
    const { rotateTokenRequest } = await import("../src/rotate/rotate-token-request");
    const refused: unknown = await rotateTokenRequest({
      store,
      transport: transport(),
      logger,
      deriveTokenKeys: memoDeriveTokenKeys,
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RequestRefusedError);
    expect(refused).toMatchObject({ code: "unavailable" });
    expect((refused as RequestRefusedError).userMessage).toMatch(/another token rotation is running/i);
    release();
    expect(await first).toBe("unknown");
    expect(consoleHolds(instance, store.loadPendingRotation()?.authKey)).toBe(true);
    expect(consoleHolds(instance, pendingOfFirst)).toBe(true);
  });

  it("a lock held by another live process (`veil-companion rotate`) means busy, however old; a dead holder's, or one whose pid was reused, is broken", async () => {
    const { instance, store } = await enrolled();
    const lock = join(store.dir, "rotation.lock");
    const startedOf = (pid: number): string => {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
    };
    const writeLock = (pid: number, started: string | null, ageMs = 0) => {
      writeFileSync(lock, JSON.stringify({ pid, started }), { mode: 0o600 });
      const at = new Date(Date.now() - ageMs);
      utimesSync(lock, at, at);
    };

    writeLock(process.ppid, startedOf(process.ppid));
    expect(await outcome(rotate(store))).toBe("busy");
    expect(existsSync(lock)).toBe(true);
    // Its holder is alive: a clock that jumped (or a long hold) does not make it stale.
    writeLock(process.ppid, startedOf(process.ppid), 11 * 60_000);
    expect(await outcome(rotate(store))).toBe("busy");
    // A holder that could not read its start time: alive for 10 minutes at most.
    writeLock(process.ppid, null);
    expect(await outcome(rotate(store))).toBe("busy");

    const dead = spawnSync(process.execPath, ["-e", "0"]).pid ?? 0;
    writeLock(dead, null);
    expect(await outcome(rotate(store))).toBe("ok");
    expect(existsSync(lock)).toBe(false);

    writeLock(process.ppid, "1");
    expect(await outcome(rotate(store))).toBe("ok");
    expect(existsSync(lock)).toBe(false);

    writeLock(process.ppid, null, 11 * 60_000);
    expect(await outcome(rotate(store))).toBe("ok");
    expect(existsSync(lock)).toBe(false);
    expect(consoleHolds(instance, store.loadSecrets()?.authKey)).toBe(true);
  });
});
