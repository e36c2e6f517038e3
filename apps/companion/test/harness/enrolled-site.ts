import { afterAll, beforeAll } from "vitest";
import type { TGrantBundle } from "../../src/protocol";
import type { RunningCompanion } from "../../src/run/start-companion";
import { makeSelfSignedCert } from "./certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./companion";
import { makeAccount, makeInstance, type TestAccount, type TestInstance } from "./fixtures";
import { BrowserSession, waitUntil } from "./browser";
import { TestConsole } from "./test-console";

/** A relaying test console and one companion enrolled in it and running, as the test's site. */
export interface EnrolledSite {
  readonly consoleServer: TestConsole;
  readonly stateDir: string;
  readonly admin: TestAccount;
  readonly instance: TestInstance;
  readonly companion: RunningCompanion;
  /** A browser end for `account` presenting `bundle` (not yet opened). */
  session(account: TestAccount, bundle: TGrantBundle): BrowserSession;
  /** Stops the companion and starts it again on the same state folder; resolves once it is back online. */
  restart(): Promise<void>;
}

/**
 * Registers the hooks that start the console and enroll and run the companion before the
 * describe block's tests, and stop both after. Call at describe level.
 */
export function useEnrolledSite(name: string): EnrolledSite {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const state = tempStateDir();
  const { logger } = captureLogger();
  let admin: TestAccount | undefined;
  let instance: TestInstance | undefined;
  let companion: RunningCompanion | undefined;
  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("the enrolled site is not started yet");
    return v;
  };

  beforeAll(async () => {
    await consoleServer.start();
    admin = makeAccount();
    instance = await makeInstance(admin, name);
    consoleServer.instances.set(instance.instanceId, instance.record);
    await enrollInto(state.dir, instance.enrollment(consoleServer.url, cert.pin), logger);
    companion = runCompanion(state.dir, logger);
    const id = instance.instanceId;
    await waitUntil(() => consoleServer.isOnline(id), 5000, "companion online");
  });

  afterAll(async () => {
    companion?.stop();
    await companion?.finished;
    await consoleServer.stop();
    state.cleanup();
  });

  return {
    consoleServer,
    stateDir: state.dir,
    get admin() {
      return need(admin);
    },
    get instance() {
      return need(instance);
    },
    get companion() {
      return need(companion);
    },
    session: (account, bundle) =>
      new BrowserSession(consoleServer, {
        instanceId: need(instance).instanceId,
        instanceBoxPublicKey: need(instance).box.publicKey,
        account,
        bundle,
      }),
    restart: async () => {
      const running = need(companion);
      running.stop();
      await running.finished;
      const before = consoleServer.connections;
      companion = runCompanion(state.dir, logger);
      const id = need(instance).instanceId;
      await waitUntil(() => consoleServer.connections > before && consoleServer.isOnline(id), 5000, "back online");
    },
  };
}
