// The browser's E2E channel (client/instances/e2e-channel.ts, InstanceChannel, run in Node)
// against a console that holds, acknowledges falsely or drops the browser's sealed requests.
// A request the page reports as unanswered must not run later: the console that holds a reboot
// past the page's time-out, lets the operator retry, then releases both gets one reboot. And the
// console's acknowledgement of a sealed frame is only advisory: a console that says "not relayed"
// may have relayed it, and the companion's authenticated answer is what counts.
//
// The console here is a socket.io server of its own; the companion behind it is a Noise_KK
// responder that applies the companion's expiry rule (apps/companion/src/e2e/dispatch-request.ts:
// `expiresAt <= now` is refused with `expired`, nothing runs).
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  acceptSession,
  fromBase64Url,
  fromUtf8,
  generateBoxKeyPair,
  toBase64Url,
  useSodiumAead,
  utf8,
  type Session,
} from "@veil/crypto";
import {
  decodeSessionOpen,
  MAX_REQUEST_TTL_MS,
  parseE2ERequest,
  parseRelayFrame,
  PROTOCOL_VERSION,
  SESSION_PROTOCOL_VERSION,
  type TE2EResponse,
  type TGrantBundle,
  type TRelayFrame,
  type TSocketAck,
} from "@veil/protocol";
import { ChannelError, InstanceChannel } from "../src/client/instances/e2e-channel";

const instanceId = crypto.randomUUID();
const accountId = crypto.randomUUID();
const instanceBox = generateBoxKeyPair();
const accountBox = generateBoxKeyPair();
const CONSOLE_TEXT = "The companion is offline (the console says so).";
const MAC = "02:00:00:00:00:01";

/** The companion's answer to the request types used here. */
const resultOf = (type: string): unknown => {
  if (type === "ping") return { receivedAt: Date.now() };
  if (type === "system.watch") return { subscriptionId: crypto.randomUUID() };
  if (type === "subscription.cancel") return { cancelled: true };
  return { commandId: crypto.randomUUID(), mac: MAC, command: "reboot", status: "done", accountId, at: Date.now() };
};

/** What a console does with a browser's transport frame. */
type Tamper = "relay" | "hold" | "lie" | "drop";

/** The companion behind the console: one Noise session per session id, the expiry rule, a record of what ran. */
class Companion {
  readonly ran: string[] = [];
  /** How far ahead of its arrival each request's expiry was. */
  readonly expiresIn: number[] = [];
  readonly refused: { type: string; code: string }[] = [];
  readonly #sessions = new Map<string, Session>();

  handshake(f: TRelayFrame): TRelayFrame {
    const { noiseMessage } = decodeSessionOpen(fromBase64Url(f.frame));
    const pending = acceptSession({
      protocolVersion: SESSION_PROTOCOL_VERSION,
      instanceId,
      accountId,
      instanceSecretKey: instanceBox.privateKey,
      accountPublicKey: accountBox.publicKey,
      message: noiseMessage,
    });
    const hello = {
      kind: "hello",
      instanceId,
      protocolVersion: PROTOCOL_VERSION,
      companionVersion: "test",
      role: "admin",
      grantExpiresAt: Date.now() + 3600_000,
    };
    const { message, session } = pending.respond(utf8(JSON.stringify(hello)));
    this.#sessions.set(f.sessionId, session);
    return { ...f, kind: "handshake", frame: toBase64Url(message) };
  }

  transport(f: TRelayFrame): TRelayFrame | null {
    const session = this.#sessions.get(f.sessionId);
    if (!session) return null;
    const req = parseE2ERequest(JSON.parse(fromUtf8(session.open(fromBase64Url(f.frame)))));
    if (!req) return null;
    this.expiresIn.push(req.expiresAt - Date.now());
    let response: TE2EResponse;
    if (req.expiresAt <= Date.now()) {
      this.refused.push({ type: req.type, code: "expired" });
      response = { kind: "error", id: req.id, error: { code: "expired", message: "expired", retryable: false } };
    } else {
      this.ran.push(req.type);
      response = { kind: "result", id: req.id, type: req.type, body: resultOf(req.type) };
    }
    return { ...f, frame: toBase64Url(session.seal(utf8(JSON.stringify(response)))) };
  }
}

/** A console that relays between the channel's socket and the companion, as `tamper` says. */
class EvilConsole {
  tamper: Tamper = "relay";
  readonly companion = new Companion();
  readonly held: TRelayFrame[] = [];
  readonly #http: HttpServer = createServer();
  readonly #io = new Server(this.#http, { transports: ["websocket"] });
  #browser: Socket | null = null;

  async start(): Promise<string> {
    this.#io.on("connection", (socket) => {
      this.#browser = socket;
      socket.on("e2e:frames", (batch: unknown[], ack: (acks: TSocketAck[]) => void) => {
        ack(batch.map((raw) => this.#fromBrowser(raw)));
      });
    });
    await new Promise<void>((resolve) => this.#http.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
  }

  /** Relays the held frames now, in order. */
  release(): void {
    for (const f of this.held.splice(0)) this.#toCompanion(f);
  }

  async stop(): Promise<void> {
    await this.#io.close();
  }

  #fromBrowser(raw: unknown): TSocketAck {
    const f = parseRelayFrame(raw);
    if (!f) return { ok: false, error: { code: "validation_failed", message: "bad frame", retryable: false } };
    if (f.kind === "close") return { ok: true };
    if (f.kind === "handshake") {
      this.#toBrowser(this.companion.handshake(f));
      return { ok: true };
    }
    const refused: TSocketAck = { ok: false, error: { code: "unavailable", message: CONSOLE_TEXT, retryable: true } };
    switch (this.tamper) {
      case "relay":
        this.#toCompanion(f);
        return { ok: true };
      case "hold":
        this.held.push(f);
        return { ok: true };
      case "lie":
        this.#toCompanion(f);
        return refused;
      case "drop":
        return refused;
    }
  }

  #toCompanion(f: TRelayFrame): void {
    const answer = this.companion.transport(f);
    if (answer) this.#toBrowser(answer);
  }

  #toBrowser(f: TRelayFrame): void {
    this.#browser?.emit("e2e:frames", [f]);
  }
}

const evil = new EvilConsole();
const g = globalThis as { window?: unknown; sessionStorage?: unknown };
const opened: InstanceChannel[] = [];

beforeAll(async () => {
  // libsodium first, while there is no `window` (it takes its Node loader then).
  await useSodiumAead();
  const origin = await evil.start();
  g.window = { location: { origin } };
  g.sessionStorage = {
    getItem: (key: string) => (key === "veil.session.v1" ? JSON.stringify({ token: "A".repeat(43) }) : null),
  };
});
afterAll(async () => {
  for (const c of opened) c.close();
  delete g.window;
  delete g.sessionStorage;
  await evil.stop();
});

async function open(): Promise<InstanceChannel> {
  evil.tamper = "relay";
  const channel = new InstanceChannel({
    instanceId,
    accountId,
    accountBoxPrivateKey: accountBox.privateKey,
    instanceBoxPublicKey: instanceBox.publicKey,
    bundle: {} as TGrantBundle,
    onClose: () => undefined,
    clockAllowanceMs: ALLOWANCE_MS,
  });
  opened.push(channel);
  await channel.open();
  return channel;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The channel's allowance for a site clock ahead of the browser's, shortened from 45 s. */
const ALLOWANCE_MS = 200;

describe("a console that holds, falsely refuses or drops the browser's requests", () => {
  it("holds a reboot past the page's time-out and releases it with the retry: the first has expired, one reboot runs", async () => {
    const channel = await open();
    const ranBefore = evil.companion.ran.length;
    evil.tamper = "hold";
    const first = channel.request("devices.reboot", { mac: MAC }, 300);
    await expect(first).rejects.toMatchObject({ name: "ChannelError", code: "timeout" });
    await expect(first).rejects.toThrow(/unknown; it cannot start after/);
    // The operator retries once the time the page named has passed; the console then lets both
    // through, in order.
    await sleep(ALLOWANCE_MS + 20);
    const retry = channel.request("devices.reboot", { mac: MAC }, 2000);
    await sleep(50);
    evil.release();
    await retry;
    expect(evil.companion.refused).toEqual([{ type: "devices.reboot", code: "expired" }]);
    expect(evil.companion.ran.slice(ranBefore)).toEqual(["devices.reboot"]);
  });

  it("a subscription that starts after the page stopped waiting is cancelled, not left holding a slot", async () => {
    const channel = await open();
    const ranBefore = evil.companion.ran.length;
    evil.tamper = "hold";
    const watch = channel.request("system.watch", { intervalMs: 1000 }, 300);
    await expect(watch).rejects.toMatchObject({ name: "ChannelError", code: "timeout" });
    // Released within the expiry: the subscription starts at the companion after all.
    evil.tamper = "relay";
    evil.release();
    await sleep(100);
    expect(evil.companion.ran.slice(ranBefore)).toEqual(["system.watch", "subscription.cancel"]);
  });

  it("the request's expiry is the page's time-out and the clock allowance, never more than MAX_REQUEST_TTL_MS", async () => {
    const channel = await open();
    await channel.request("ping", {}, 2000);
    expect(evil.companion.expiresIn.at(-1)).toBeLessThanOrEqual(2000 + ALLOWANCE_MS);
    expect(evil.companion.expiresIn.at(-1)).toBeGreaterThan(2000);
    await channel.request("ping", {}, 3_600_000);
    expect(evil.companion.expiresIn.at(-1)).toBeLessThanOrEqual(MAX_REQUEST_TTL_MS);
    expect(evil.companion.expiresIn.at(-1)).toBeGreaterThan(MAX_REQUEST_TTL_MS - 60_000);
    evil.tamper = "hold";
    const pending = channel.request("ping", {}, 400).then(
      () => null,
      (e: unknown) => e,
    );
    expect(await pending).toBeInstanceOf(ChannelError);
    await sleep(ALLOWANCE_MS + 20);
    evil.release();
    expect(evil.companion.refused.at(-1)).toEqual({ type: "ping", code: "expired" });
  });

  it("says it did not relay a frame it relayed: the answer that came first is delivered, and the session ends", async () => {
    const channel = await open();
    evil.tamper = "lie";
    // This console relays the frame, and the companion answers, before it acknowledges falsely.
    const answer = await channel.request("ping", {}, 2000);
    expect(answer).toMatchObject({ receivedAt: expect.any(Number) as unknown });
    // A refusal is the end of the session (if true, the Noise counters are out of step).
    await sleep(50);
    await expect(channel.request("ping", {}, 2000)).rejects.toMatchObject({ name: "ChannelError", code: "closed" });
  });

  it("refuses and drops a frame: the page says the outcome is unknown, never the console's words", async () => {
    const channel = await open();
    evil.tamper = "drop";
    const pending = channel.request("devices.reboot", { mac: MAC }, 300);
    const error = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ChannelError);
    expect((error as Error).message).toMatch(/unknown/);
    expect((error as Error).message).not.toContain(CONSOLE_TEXT);
  });
});
