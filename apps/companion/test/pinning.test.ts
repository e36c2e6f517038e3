import { existsSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { decodeEnrollment } from "../src/protocol";
import { PinnedAgent } from "../src/transport/pinned-agent";
import { httpsJson } from "../src/transport/https-json";
import { createPinnedTransport } from "../src/transport/console-transport";
import { PinMismatchError } from "../src/transport/spki-pin";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, type TestInstance } from "./harness/fixtures";
import { waitUntil } from "./harness/browser";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

describe("console certificate pinning", () => {
  const certA = makeSelfSignedCert("console-a");
  const certB = makeSelfSignedCert("console-b");
  const real = new TestConsole(certA);
  const impostor = new TestConsole(certB);
  let instance: TestInstance;

  beforeAll(async () => {
    await real.start();
    await impostor.start();
    instance = await makeInstance(makeAccount());
    // The impostor knows everything the real console stores: only the pin tells them apart.
    real.instances.set(instance.instanceId, instance.record);
    impostor.instances.set(instance.instanceId, instance.record);
  });
  afterAll(async () => {
    await real.stop();
    await impostor.stop();
  });

  it("the two consoles really have different keys", () => {
    expect(certA.pin).not.toBe(certB.pin);
    expect(certA.pin).toMatch(/^sha256\/\/[A-Za-z0-9+/]{43}=$/);
  });

  it("refuses a wrong pin before a single request byte is written", async () => {
    const agent = new PinnedAgent(certA.pin);
    await expect(
      httpsJson({
        agent,
        url: new URL("/api/companion/v1/instances/x/enroll", impostor.url),
        method: "POST",
        body: { authKey: "secret" },
      }),
    ).rejects.toBeInstanceOf(PinMismatchError);
    expect(impostor.requests).toEqual([]);
  });

  it("enrollment against the impostor stops before any token-derived secret is sent, and writes nothing", async () => {
    const state = tempStateDir();
    const { logger } = captureLogger();
    // The string says "pin A" but the URL leads to B (say, DNS hijacked).
    const line = instance.enrollment(impostor.url, certA.pin);
    await expect(enrollInto(state.dir, line, logger)).rejects.toBeInstanceOf(PinMismatchError);
    expect(impostor.requests).toEqual([]);
    expect(existsSync(state.dir) ? readdirSync(state.dir) : []).toEqual([]);
    state.cleanup();
  });

  it("the socket connection to the impostor never authenticates", async () => {
    const transport = createPinnedTransport(impostor.url, certA.pin, { timeoutMs: 2000 });
    const socket = transport.openSocket({
      instanceId: instance.instanceId,
      authKey: "A".repeat(43),
      protocolVersion: 1,
      companionVersion: "t",
    });
    const error = await new Promise<Error>((resolve) => {
      socket.on("connect_error", resolve);
      socket.on("connect", () => resolve(new Error("connected!")));
      socket.connect();
    });
    socket.disconnect();
    expect(error.message).not.toBe("connected!");
    expect(impostor.connections).toBe(0);
  });

  it("a running companion pointed at the impostor keeps refusing it (pin_mismatch), and works with the real console", async () => {
    const state = tempStateDir();
    const { logger, lines } = captureLogger();
    await enrollInto(state.dir, instance.enrollment(real.url, certA.pin), logger);
    expect(decodeEnrollment(instance.enrollment(real.url, certA.pin)).consolePin).toBe(certA.pin);
    const good = runCompanion(state.dir, logger);
    await waitUntil(() => real.isOnline(instance.instanceId), 5000, "online at the real console");
    good.stop();
    await good.finished;
    const bad = runCompanion(state.dir, logger, {
      transport: createPinnedTransport(impostor.url, certA.pin, { timeoutMs: 2000 }),
    });
    await waitUntil(() => lines.some((l) => l.includes('"code":"pin_mismatch"')), 5000, "pin mismatch logged");
    expect(impostor.connections).toBe(0);
    bad.stop();
    await bad.finished;
    state.cleanup();
  });
});
