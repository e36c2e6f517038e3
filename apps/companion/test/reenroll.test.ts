// Enrolling again the instance already enrolled here: after the console's certificate (its pin)
// or address changed, the companion takes the new settings without losing its state.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { enrollCommand, type EnrollCommandResult } from "../src/cli/enroll-command";
import { CommandError } from "../src/cli/command-error";
import { EnrollmentError } from "../src/enroll/verify-certificate";
import { decodeEnrollment, encodeBase64Url, encodeEnrollment } from "../src/protocol";
import { rotateToken } from "../src/rotate/rotate-token";
import { acquireRotationLock } from "../src/rotate/rotation-lock";
import { lockStateDir } from "../src/run/state-dir-lock";
import { StateStore } from "../src/state/state-store";
import { createPinnedTransport } from "../src/transport/console-transport";
import { waitUntil } from "./harness/browser";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, memoDeriveTokenKeys, type TestInstance } from "./harness/fixtures";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

describe("enroll again, for the instance enrolled here", () => {
  const before = new TestConsole(makeSelfSignedCert());
  // The same console, same address, with a new certificate (a new key: a new pin).
  const after = new TestConsole(makeSelfSignedCert());
  const { logger } = captureLogger();
  const states: { cleanup(): void }[] = [];
  let instance: TestInstance;

  beforeAll(async () => {
    await before.start();
    instance = await makeInstance(makeAccount(), "re-enrolled");
    before.instances.set(instance.instanceId, instance.record);
    after.instances.set(instance.instanceId, instance.record);
  });

  afterAll(async () => {
    await before.stop();
    await after.stop();
    for (const s of states) s.cleanup();
  });

  const enroll = (dir: string, line: string): Promise<EnrollCommandResult> =>
    enrollCommand({ stateDir: dir, enrollment: decodeEnrollment(line), logger, deriveTokenKeys: memoDeriveTokenKeys });

  /** A state folder enrolled with the console before its certificate changed. */
  const enrolledBefore = async (): Promise<{ dir: string; store: StateStore }> => {
    const state = tempStateDir();
    states.push(state);
    if (after.port !== 0) {
      await after.stop();
      await before.start(before.port);
    }
    expect(await enroll(state.dir, instance.enrollment(before.url, before.cert.pin))).toMatchObject({
      alreadyEnrolled: false,
      reenrolled: false,
    });
    return { dir: state.dir, store: new StateStore(state.dir) };
  };

  /** The console restarts at the same address with its new certificate. */
  const certificateChanged = async (): Promise<void> => {
    await before.stop();
    await after.start(before.port);
  };

  it("takes the new pin, keeps the keys and every other file (vault, devices, audit log), and then connects to the console", async () => {
    const { dir, store } = await enrolledBefore();
    const secrets = store.loadSecrets();
    const config = store.loadConfig();
    writeFileSync(join(dir, "kept.txt"), "kept", { mode: 0o600 });
    await certificateChanged();
    expect(after.url).toBe(before.url);

    const result = await enroll(dir, instance.enrollment(after.url, after.cert.pin));
    expect(result).toEqual({ alreadyEnrolled: false, reenrolled: true, instanceId: instance.instanceId });
    expect(store.loadConfig()).toMatchObject({
      consoleUrl: after.url,
      consolePin: after.cert.pin,
      identityPublicKey: config?.identityPublicKey,
      boxPublicKey: config?.boxPublicKey,
      signerFingerprint: config?.signerFingerprint,
    });
    expect(store.loadSecrets()).toEqual(secrets);
    expect(readFileSync(join(dir, "kept.txt"), "utf8")).toBe("kept");

    // The same string again: nothing to do, and nothing asked of the console.
    const requests = after.requests.length;
    expect(await enroll(dir, instance.enrollment(after.url, after.cert.pin))).toMatchObject({
      alreadyEnrolled: true,
      reenrolled: false,
    });
    expect(after.requests.length).toBe(requests);

    const running = runCompanion(dir, logger);
    try {
      await waitUntil(() => after.isOnline(instance.instanceId), 10_000, "online with the new pin");
    } finally {
      running.stop();
      await running.finished;
    }
  });

  it("is refused while a run holds the folder, and while a token rotation runs; nothing changes", async () => {
    const { dir, store } = await enrolledBefore();
    const config = readFileSync(store.paths.config, "utf8");
    await certificateChanged();
    const line = instance.enrollment(after.url, after.cert.pin);
    const run = lockStateDir(dir);
    try {
      const refused = await enroll(dir, line).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CommandError);
      expect((refused as CommandError).message).toBe(
        `a veil-companion run (pid ${process.pid}) is using ${dir}: stop it first (systemctl stop veil-companion, or Ctrl-C in the terminal running it), enroll again, then start it`,
      );
    } finally {
      run?.release();
    }
    const rotation = acquireRotationLock(dir);
    try {
      expect(await enroll(dir, line).catch((e: unknown) => e)).toMatchObject({
        code: "running",
        message: "a token rotation is running for this state folder; try again when it ends",
      });
    } finally {
      rotation?.release();
    }
    expect(readFileSync(store.paths.config, "utf8")).toBe(config);
  });

  it("refuses a console that certifies other keys than the ones held here, and another signer", async () => {
    const { store } = await enrolledBefore();
    // This host holds other keys than the console certifies for the instance.
    const config = store.loadConfig();
    if (config === undefined) throw new Error("not enrolled");
    const held = { ...config, boxPublicKey: encodeBase64Url(new Uint8Array(32).fill(7)) };
    store.saveConfig(held);
    await certificateChanged();
    const refused = await enroll(store.dir, instance.enrollment(after.url, after.cert.pin)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EnrollmentError);
    expect(refused).toMatchObject({
      code: "keys_mismatch",
      message: `the console certifies other keys for instance ${instance.instanceId} than the ones this host holds; nothing was changed`,
    });
    expect(store.loadConfig()).toEqual(held);

    const otherSigner = encodeEnrollment({
      ...decodeEnrollment(instance.enrollment(after.url, after.cert.pin)),
      signerFingerprint: encodeBase64Url(new Uint8Array(32).fill(9)),
    });
    const requests = after.requests.length;
    expect(await enroll(store.dir, otherSigner).catch((e: unknown) => e)).toMatchObject({ code: "signer_mismatch" });
    expect(after.requests.length).toBe(requests);
    expect(store.loadConfig()).toEqual(held);
  });

  it("cut between its two files, runs again on the next enroll with that string instead of taking it as done", async () => {
    const { dir, store } = await enrolledBefore();
    await certificateChanged();
    const line = instance.enrollment(after.url, after.cert.pin);
    const saveSecrets = vi.spyOn(StateStore.prototype, "saveSecrets").mockImplementationOnce(() => {
      throw new Error("ENOSPC: no space left on device, write");
    });
    try {
      expect(await enroll(dir, line).catch((e: unknown) => e)).toMatchObject({ message: /ENOSPC/ });
    } finally {
      saveSecrets.mockRestore();
    }
    // config.json has the new pin; the marker says the secrets may not match it.
    expect(store.loadConfig()?.consolePin).toBe(after.cert.pin);
    expect(store.reenrollPending()).toBe(true);
    // A token rotation now would strand it: the string could never enroll again.
    expect(
      await rotateToken({ store, transport: createPinnedTransport(after.url, after.cert.pin), logger }).catch(
        (e: unknown) => e,
      ),
    ).toMatchObject({ message: /an enrollment again did not finish/ });
    const requests = after.requests.length;
    expect(await enroll(dir, line)).toMatchObject({ alreadyEnrolled: false, reenrolled: true });
    expect(after.requests.length).toBeGreaterThan(requests);
    expect(store.reenrollPending()).toBe(false);
    expect(await enroll(dir, line)).toMatchObject({ alreadyEnrolled: true });
  });
});
