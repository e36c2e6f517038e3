import { randomBytes, randomUUID } from "node:crypto";
import {
  fromBase64Url,
  fromUtf8,
  initiateSession,
  SessionError,
  toBase64Url,
  utf8,
  type Session,
} from "../../src/crypto";
import {
  encodeSessionOpen,
  SESSION_PROTOCOL_VERSION,
  ZCompanionHelloSchema,
  ZE2EResponseSchema,
  type TCompanionHello,
  type TE2EResponse,
  type TGrantBundle,
  type TRelayFrame,
} from "../../src/protocol";
import type { TestAccount } from "./fixtures";
import type { TestConsole } from "./test-console";

/**
 * The browser side of an E2E session, in-process: the real Noise_KK initiator from
 * packages/crypto, talking through the test console's relay. Responses are decrypted and
 * parsed exactly as the real browser would, and it ends the session when the real browser
 * (apps/console src/client/instances/e2e-channel.ts, InstanceChannel) does: on any companion
 * frame that does not open or parse (replay, gap, forgery…: the crypto error's code), on a close
 * frame, and when the console dies ("unavailable"). Ending it wipes the keys, tells the
 * companion (a close frame, for the crypto errors) and fails every pending `waitFor`; nothing
 * later is read. (The real channel itself runs in Node too: see real-channel.ts.)
 */
export class BrowserSession {
  readonly sessionId = toBase64Url(randomBytes(16));
  session: Session | undefined;
  hello: TCompanionHello | undefined;
  closedReason: string | undefined;
  readonly events: Extract<TE2EResponse, { kind: "event" | "end" }>[] = [];
  readonly responses: TE2EResponse[] = [];
  /** Frames the browser sent, as sent (for replay attacks). */
  readonly sent: TRelayFrame[] = [];
  /** Errors the browser's crypto raised on companion frames (forged replies etc.). */
  readonly failures: string[] = [];
  /** Ended (by either side, or the console's death): nothing more is read or sealed. */
  closed = false;
  #waiters = new Map<string, { resolve: (r: TE2EResponse) => void; reject: (e: Error) => void }>();
  #handshake: ((frame: TRelayFrame) => void) | undefined;
  #unsubscribe: () => void;

  constructor(
    readonly console: TestConsole,
    readonly options: {
      instanceId: string;
      instanceBoxPublicKey: Uint8Array;
      account: TestAccount;
      bundle: TGrantBundle;
    },
  ) {
    this.#unsubscribe = console.onBrowserFrame(
      (f) => this.#onFrame(f),
      () => this.#close("unavailable", false),
    );
  }

  #onFrame(frame: TRelayFrame): void {
    if (frame.sessionId !== this.sessionId || this.closed) return;
    if (frame.kind === "close") {
      const reason = fromUtf8(fromBase64Url(frame.frame));
      if (this.#handshake !== undefined) {
        this.closedReason = reason;
        this.closed = true;
        this.#handshake(frame);
      } else this.#close(reason, false);
      return;
    }
    if (frame.kind === "handshake") {
      this.#handshake?.(frame);
      return;
    }
    if (this.session === undefined) return;
    let msg: TE2EResponse;
    try {
      msg = ZE2EResponseSchema.parse(JSON.parse(fromUtf8(this.session.open(fromBase64Url(frame.frame)))));
    } catch (error) {
      // As the real browser: replay, reorder, gap, forgery or garbage, and the session cannot be trusted.
      const code = error instanceof SessionError ? error.code : "malformed_frame";
      this.failures.push(code);
      this.#close(code, true);
      return;
    }
    if (msg.kind === "event" || msg.kind === "end") this.events.push(msg);
    else {
      this.responses.push(msg);
      if (msg.id === null) return;
      const w = this.#waiters.get(msg.id);
      this.#waiters.delete(msg.id);
      w?.resolve(msg);
    }
  }

  /** Ends the session as the real browser's `close(reason)` does; `tell`: send the companion a close frame. */
  #close(reason: string, tell: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.closedReason = reason;
    if (tell && this.session !== undefined)
      this.console.sendToCompanion({
        instanceId: this.options.instanceId,
        sessionId: this.sessionId,
        kind: "close",
        frame: "",
      });
    this.session?.close();
    this.session = undefined;
    for (const [, w] of this.#waiters) w.reject(new SessionClosed(reason));
    this.#waiters.clear();
  }

  /** Runs the handshake; resolves with the companion's hello, rejects on close or timeout. */
  async open(timeoutMs = 5000): Promise<TCompanionHello> {
    const { instanceId, account, bundle, instanceBoxPublicKey } = this.options;
    const pending = initiateSession({
      protocolVersion: SESSION_PROTOCOL_VERSION,
      instanceId,
      accountId: account.accountId,
      accountSecretKey: account.box.privateKey,
      instancePublicKey: instanceBoxPublicKey,
    });
    const reply = new Promise<TRelayFrame>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("handshake timed out")), timeoutMs);
      this.#handshake = (f) => {
        clearTimeout(t);
        this.#handshake = undefined;
        if (f.kind === "close") reject(new Error(`session refused: ${this.closedReason ?? ""}`));
        else resolve(f);
      };
    });
    this.sendRaw({
      instanceId,
      sessionId: this.sessionId,
      kind: "handshake",
      frame: toBase64Url(encodeSessionOpen(JSON.stringify(bundle), pending.message)),
    });
    const f = await reply;
    const { session, payload } = pending.finish(fromBase64Url(f.frame));
    this.session = session;
    this.hello = ZCompanionHelloSchema.parse(JSON.parse(fromUtf8(payload)));
    return this.hello;
  }

  /** Seals one request into a relay frame without sending it. */
  seal(
    type: string,
    body: unknown = {},
    options: { id?: string; expiresAt?: number } = {},
  ): { id: string; frame: TRelayFrame } {
    if (this.session === undefined)
      throw new Error(this.closed ? `session closed: ${this.closedReason ?? ""}` : "not open");
    const id = options.id ?? randomUUID();
    const message = { kind: "request", id, expiresAt: options.expiresAt ?? Date.now() + 60_000, type, body };
    const frame = this.session.seal(utf8(JSON.stringify(message)));
    return {
      id,
      frame: {
        instanceId: this.options.instanceId,
        sessionId: this.sessionId,
        kind: "transport",
        frame: toBase64Url(frame),
      },
    };
  }

  /**
   * Acknowledges push stream `subscriptionId`'s events up to `seq` (flow control), as the real
   * browser does (`message` replaces the ack, for malformed ones).
   */
  ack(subscriptionId: string, seq: number, message: unknown = { kind: "ack", subscriptionId, seq }): void {
    if (this.session === undefined) throw new Error("not open");
    this.sendRaw({
      instanceId: this.options.instanceId,
      sessionId: this.sessionId,
      kind: "transport",
      frame: toBase64Url(this.session.seal(utf8(JSON.stringify(message)))),
    });
  }

  /** Sends a frame through the console. */
  sendRaw(frame: TRelayFrame): void {
    this.sent.push(frame);
    this.console.sendToCompanion(frame);
  }

  /** Waits for the response to `id`; rejects with SessionClosed when the session ends first. */
  waitFor(id: string, timeoutMs = 5000): Promise<TE2EResponse> {
    const done = this.responses.find((r) => (r.kind === "result" || r.kind === "error") && r.id === id);
    if (done !== undefined) return Promise.resolve(done);
    if (this.closed) return Promise.reject(new SessionClosed(this.closedReason ?? "closed"));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters.delete(id);
        reject(new Error(`no response to ${id}`));
      }, timeoutMs);
      this.#waiters.set(id, {
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
    });
  }

  /** Sends a request and waits for its response. */
  async request(
    type: string,
    body: unknown = {},
    options: { id?: string; expiresAt?: number } = {},
  ): Promise<TE2EResponse> {
    const { id, frame } = this.seal(type, body, options);
    this.sendRaw(frame);
    return this.waitFor(id);
  }

  /** Stops listening. */
  dispose(): void {
    this.#unsubscribe();
    this.session?.close();
  }
}

/** A pending request failed because its session ended (`reason`: why, as the browser was told or saw). */
export class SessionClosed extends Error {
  constructor(readonly reason: string) {
    super(`session closed: ${reason}`);
    this.name = "SessionClosed";
  }
}

/** Polls `check` until true (or fails after `timeoutMs`). */
export async function waitUntil(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
