/**
 * The device side of Veil's device channel as a pure state machine: no sockets, no timers.
 * The caller feeds it the companion's frames and sends what it returns.
 *
 *   awaiting_challenge --hello(challenge)--> open --close()--> closed
 *
 * With the site key the companion answers the hello with `key_issue`; `receive` then exposes
 * the new key in `issuedKey`: persist it, send `key_ack`, and reconnect with it.
 */
import { randomBytes } from "node:crypto";
import { u8 } from "./bytes";
import { check } from "./errors";
import { buildHeader, Direction, FrameKind, KeyType, parseChallenge, sealFrame } from "./channel-frame";
import { deriveSessionKeys } from "./channel-keys";
import { ChannelSession, DEFAULT_CHANNEL_LIMITS, encodeMessage, type ChannelLimits } from "./channel-session";
import { ZDeviceDownMessageSchema, type TDeviceDownMessage, type TDeviceUpMessage } from "@veil/protocol";

/** The key a device connects with: the shared site key, or its own key after key issue. */
export interface ChannelCredential {
  readonly type: "site" | "device";
  /** 8-byte key id. */
  readonly keyId: Uint8Array;
  /** 32-byte key. */
  readonly key: Uint8Array;
}

/** Options of a client; clock and randomness are injectable for deterministic tests. */
export interface DeviceChannelClientOptions {
  readonly mac: string;
  readonly credential: ChannelCredential;
  readonly random?: (bytes: number) => Uint8Array;
  readonly clock?: () => number;
  readonly limits?: Partial<ChannelLimits>;
}

/** The hello message a device sends, without the fields the client fills in. */
export type DeviceHelloFields = Omit<Extract<TDeviceUpMessage, { type: "hello" }>, "type" | "version" | "mac">;

/** State of a client. */
export type DeviceChannelClientState = "awaiting_challenge" | "open" | "closed";

/** One session of a device with the companion. */
export class DeviceChannelClient {
  private session: ChannelSession | undefined;
  private closed = false;
  private issued: ChannelCredential | undefined;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly clock: () => number;
  private readonly limits: ChannelLimits;

  constructor(private readonly options: DeviceChannelClientOptions) {
    if (options.credential.key.length !== 32) throw new RangeError("credential.key must be 32 bytes");
    if (options.credential.keyId.length !== 8) throw new RangeError("credential.keyId must be 8 bytes");
    this.random = options.random ?? ((n) => u8(randomBytes(n)));
    this.clock = options.clock ?? Date.now;
    this.limits = { ...DEFAULT_CHANNEL_LIMITS, ...options.limits };
  }

  /** Where the state machine is. */
  get state(): DeviceChannelClientState {
    return this.closed ? "closed" : this.session ? "open" : "awaiting_challenge";
  }

  /** True when the session should be closed and a new one opened (fresh keys). */
  get needsRekey(): boolean {
    return this.session?.needsRekey ?? false;
  }

  /** The per-device key the companion issued in this session, once received. */
  get issuedKey(): ChannelCredential | undefined {
    return this.issued;
  }

  /** Answers the companion's challenge with the sealed hello frame; opens the session. */
  hello(challenge: Uint8Array, fields: DeviceHelloFields): Uint8Array {
    check(this.state === "awaiting_challenge", "hello is only valid before the session opens", "state");
    const serverRandom = parseChallenge(challenge);
    const clientRandom = this.random(16);
    const { credential, mac } = this.options;
    const keyType = credential.type === "site" ? KeyType.SITE : KeyType.DEVICE;
    const keys = deriveSessionKeys(credential.key, serverRandom, clientRandom, keyType, credential.keyId, mac);
    const header = buildHeader({
      direction: Direction.UP,
      kind: FrameKind.HELLO,
      keyType,
      keyId: credential.keyId,
      mac,
      counter: 0,
      clientRandom,
    });
    const hello: TDeviceUpMessage = { type: "hello", version: 1, mac, ...fields };
    const frame = sealFrame(keys.up, header, Direction.UP, 0, encodeMessage(hello));
    this.session = new ChannelSession(
      { keyType, keyId: credential.keyId, mac },
      keys.up,
      keys.down,
      Direction.UP,
      this.limits,
      this.clock,
      {
        nextSend: 1,
        lastReceived: -1,
      },
    );
    return frame;
  }

  /** Seals a message to the companion. */
  send(message: TDeviceUpMessage): Uint8Array {
    check(this.session !== undefined && !this.closed, "send needs an open session", "state");
    return this.session.seal(message);
  }

  /**
   * Opens a frame from the companion and returns its validated message. Throws
   * DeviceCodecError for anything else (and the frame is dropped; the session stays usable).
   */
  receive(frame: Uint8Array): TDeviceDownMessage {
    check(this.session !== undefined && !this.closed, "receive needs an open session", "state");
    const message = this.session.open(frame, ZDeviceDownMessageSchema);
    if (message.type === "key_issue") {
      check(this.options.credential.type === "site", "key_issue outside a site-key session", "state");
      this.issued = {
        type: "device",
        keyId: u8(Buffer.from(message.keyId, "base64url")),
        key: u8(Buffer.from(message.key, "base64url")),
      };
    }
    return message;
  }

  /** Ends the session; further calls fail with `state`. */
  close(): void {
    this.closed = true;
  }
}
