import { existsSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { decodeEnrollment, PROTOCOL_VERSION } from "../src/protocol";
import { toBase64Url } from "../src/crypto";
import { describeConnectError } from "../src/supervisor/supervisor";
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
    const [connections, bytes] = [impostor.tcpConnections, impostor.tlsBytesIn];
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
    // The connection reached the impostor, and not one byte of application data followed.
    await waitUntil(() => impostor.tcpConnections > connections, 2000, "a connection to the impostor");
    expect(impostor.tlsBytesIn).toBe(bytes);
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

  it("the socket connection to the impostor never authenticates: with the instance's own auth key, only the pin stops it", async () => {
    const connect = (pin: string): Promise<Error | "connected"> =>
      new Promise((resolve) => {
        const socket = createPinnedTransport(impostor.url, pin, { timeoutMs: 2000 }).openSocket({
          instanceId: instance.instanceId,
          authKey: toBase64Url(instance.authKey),
          protocolVersion: PROTOCOL_VERSION,
          companionVersion: "t",
        });
        socket.on("connect_error", (error: Error) => {
          socket.disconnect();
          resolve(error);
        });
        socket.on("connect", () => {
          socket.disconnect();
          resolve("connected");
        });
        socket.connect();
      });
    const before = impostor.connections;
    const refused = await connect(certA.pin);
    expect(refused).toBeInstanceOf(Error);
    expect(describeConnectError(refused as Error)).toBe("pin_mismatch");
    expect(impostor.connections).toBe(before);
    // The control: the same key through the impostor's own pin authenticates, so above it was
    // the pin, and nothing else, that kept the key from the impostor.
    expect(await connect(certB.pin)).toBe("connected");
    expect(impostor.connections).toBe(before + 1);
  });

  it("a running companion pointed at the impostor keeps refusing it (pin_mismatch), and works with the real console", async () => {
    const state = tempStateDir();
    const { logger, lines } = captureLogger();
    const before = impostor.connections;
    await enrollInto(state.dir, instance.enrollment(real.url, certA.pin), logger);
    expect(decodeEnrollment(instance.enrollment(real.url, certA.pin)).consolePin).toBe(certA.pin);
    const good = runCompanion(state.dir, logger);
    await waitUntil(() => real.isOnline(instance.instanceId), 5000, "online at the real console");
    good.stop();
    await good.finished;
    const bad = runCompanion(state.dir, logger, {
      transport: createPinnedTransport(impostor.url, certA.pin, { timeoutMs: 2000 }),
    });
    // Two refusals in a row: a reconnect does not get past the pin either.
    await waitUntil(
      () =>
        lines.filter((l) => l.includes("connection refused or failed") && l.includes('"code":"pin_mismatch"')).length >=
        2,
      10_000,
      "pin mismatch logged twice",
    );
    expect(impostor.connections).toBe(before);
    bad.stop();
    await bad.finished;
    state.cleanup();
  });
});
