/**
 * The companion side of one device-channel connection as a pure state machine. The companion
 * wires a WebSocket to it: send `challenge()` on connect, pass the first frame to
 * `receiveHello`, later frames to `receive`, and send what `send` returns.
 */
import { randomBytes } from "node:crypto";
import { u8 } from "./bytes";
import { check, DeviceCodecError } from "./errors";
import { buildChallenge, Direction, FrameKind, KeyType, openFrame, parseFrame } from "./channel-frame";
import { deriveSessionKeys } from "./channel-keys";
import { ChannelSession, decodeMessage, DEFAULT_CHANNEL_LIMITS, type ChannelLimits } from "./channel-session";
import {
  ZDeviceHelloSchema,
  ZDeviceUpMessageSchema,
  type TDeviceDownMessage,
  type TDeviceUpMessage,
} from "@veil/protocol";

/** Key lookups the companion provides (site keys by id, device keys by MAC and id). */
export interface ChannelKeyStore {
  siteKey(keyId: Uint8Array): Uint8Array | undefined;
  deviceKey(mac: string, keyId: Uint8Array): Uint8Array | undefined;
}

/** Options of one server-side connection. */
export interface DeviceChannelServerOptions {
  readonly keys: ChannelKeyStore;
  readonly random?: (bytes: number) => Uint8Array;
  readonly clock?: () => number;
  readonly limits?: Partial<ChannelLimits>;
}

/** What a valid hello established. */
export interface AcceptedHello {
  readonly hello: Extract<TDeviceUpMessage, { type: "hello" }>;
  readonly mac: string;
  /** `site`: the device is new (pending); issue it a key. `device`: a known device. */
  readonly keyType: "site" | "device";
  readonly keyId: Uint8Array;
}

/** Companion side of one connection. */
export class DeviceChannelServer {
  private serverRandom: Uint8Array | undefined;
  private session: ChannelSession | undefined;
  private accepted: AcceptedHello | undefined;
  private keyIssued = false;
  private helloFailed = false;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly clock: () => number;
  private readonly limits: ChannelLimits;

  constructor(private readonly options: DeviceChannelServerOptions) {
    this.random = options.random ?? ((n) => u8(randomBytes(n)));
    this.clock = options.clock ?? Date.now;
    this.limits = { ...DEFAULT_CHANNEL_LIMITS, ...options.limits };
  }

  /** The hello accepted on this connection, if any. */
  get identity(): AcceptedHello | undefined {
    return this.accepted;
  }

  /** True when the session should be closed so the device reconnects with fresh keys. */
  get needsRekey(): boolean {
    return this.session?.needsRekey ?? false;
  }

  /** The first frame to send on a new connection: a fresh 16-byte random. */
  challenge(): Uint8Array {
    check(this.serverRandom === undefined, "challenge already sent", "state");
    this.serverRandom = this.random(16);
    return buildChallenge(this.serverRandom);
  }

  /**
   * Checks the device's hello: frame layout, a known key for its key type, tag, schema, and
   * that the MAC inside equals the MAC in the authenticated header.
   */
  receiveHello(frame: Uint8Array): AcceptedHello {
    check(
      this.serverRandom !== undefined && this.session === undefined && !this.helloFailed,
      "hello out of order",
      "state",
    );
    // One attempt per connection: a failed hello ends it, so a connection cannot be used to
    // try keys repeatedly against one challenge.
    this.helloFailed = true;
    const accepted = this.acceptHello(frame);
    this.helloFailed = false;
    return accepted;
  }

  private acceptHello(frame: Uint8Array): AcceptedHello {
    if (this.serverRandom === undefined) throw new DeviceCodecError("state", "challenge not sent");
    const { header, body } = parseFrame(frame);
    if (
      header.direction !== Direction.UP ||
      header.kind !== FrameKind.HELLO ||
      header.counter !== 0 ||
      !header.clientRandom
    )
      throw DeviceCodecError.authFailed();
    const key =
      header.keyType === KeyType.SITE
        ? this.options.keys.siteKey(header.keyId)
        : this.options.keys.deviceKey(header.mac, header.keyId);
    if (key === undefined) throw DeviceCodecError.authFailed();
    const keys = deriveSessionKeys(
      key,
      this.serverRandom,
      header.clientRandom,
      header.keyType,
      header.keyId,
      header.mac,
    );
    const hello = decodeMessage(ZDeviceHelloSchema, openFrame(keys.up, header, body));
    check(hello.mac === header.mac, "hello MAC differs from the frame's MAC");
    this.session = new ChannelSession(
      { keyType: header.keyType, keyId: header.keyId, mac: header.mac },
      keys.down,
      keys.up,
      Direction.DOWN,
      this.limits,
      this.clock,
      {
        nextSend: 0,
        lastReceived: 0,
      },
    );
    this.accepted = {
      hello,
      mac: header.mac,
      keyType: header.keyType === KeyType.SITE ? "site" : "device",
      keyId: header.keyId,
    };
    return this.accepted;
  }

  /** Opens a data frame from the device; validated against the up-message schemas. */
  receive(frame: Uint8Array): TDeviceUpMessage {
    check(this.session !== undefined, "receive before hello", "state");
    const message = this.session.open(frame, ZDeviceUpMessageSchema);
    check(message.type !== "hello", "second hello in one session", "state");
    return message;
  }

  /** Seals a message to the device. */
  send(message: TDeviceDownMessage): Uint8Array {
    check(this.session !== undefined, "send before hello", "state");
    return this.session.seal(message);
  }

  /**
   * In a site-key session, makes the device's own 256-bit key and 8-byte id and seals the
   * `key_issue` message. The companion stores `{mac, keyId, key}` and expects `key_ack`.
   */
  issueDeviceKey(): { keyId: Uint8Array; key: Uint8Array; frame: Uint8Array } {
    check(this.accepted?.keyType === "site" && !this.keyIssued, "key issue needs a site-key session", "state");
    this.keyIssued = true;
    const keyId = this.random(8);
    const key = this.random(32);
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64url");
    return { keyId, key, frame: this.send({ type: "key_issue", keyId: b64(keyId), key: b64(key) }) };
  }
}
