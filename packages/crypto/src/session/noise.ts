/**
 * The Noise Protocol Framework (revision 34, noiseprotocol.org/noise.html), §5 processing rules,
 * for DH = 25519 (§12.1), cipher = ChaChaPoly (§12.3) and hash = SHA256 (§12.5) or any hash
 * given as a {@link NoiseHash}; patterns KK and IK (§7.5). Faithful to the spec's objects:
 * CipherState (§5.1), SymmetricState (§5.2), HandshakeState (§5.3). Checked against the
 * cacophony vectors (test/session-noise-vectors.node.test.ts).
 *
 * Deliberate choices the spec leaves open: all-zero DH outputs are rejected (§12.1 permits it;
 * RFC 7748 §6.1 recommends it), and a HandshakeState that saw any error is wiped and refuses
 * further calls (§5.3: "the handshake has failed").
 */
import type { Primitives } from "../primitives/types";
import { getPrimitives } from "../primitives/index";
import { NoiseError, NOISE_MAX_MESSAGE, NOISE_TAG_LEN, type CipherState, type NoiseAead } from "./cipher-state";
import { SymmetricState, type NoiseHash } from "./symmetric-state";
import { assertBytes, assertBytesLength, concatBytes, isAllZero, wipe } from "./validate";

export { SymmetricState } from "./symmetric-state";
export type { NoiseHash } from "./symmetric-state";

export {
  CipherState,
  NoiseError,
  NOISE_KEY_LEN,
  NOISE_MAX_MESSAGE,
  NOISE_MAX_NONCE,
  NOISE_TAG_LEN,
} from "./cipher-state";
export type { NoiseAead, NoiseErrorCode } from "./cipher-state";

/** The primitive operations Noise needs (a subset of {@link Primitives}). */
export type NoisePrimitives = NoiseAead & Pick<Primitives, "sha256" | "hmacSha256" | "x25519" | "x25519PublicKey">;

/** Length of an X25519 key and DH output (DHLEN, §12.1). */
export const NOISE_DH_LEN = 32;

/** The handshake patterns this module implements (§7.5). */
export type NoisePatternName = "KK" | "IK";
type Token = "e" | "s" | "ee" | "es" | "se" | "ss";
interface Pattern {
  readonly preInitiator: readonly "s"[];
  readonly preResponder: readonly "s"[];
  readonly messages: readonly (readonly Token[])[];
}
const PATTERNS: Record<NoisePatternName, Pattern> = {
  // KK:  -> s   <- s   ...   -> e, es, ss   <- e, ee, se
  KK: {
    preInitiator: ["s"],
    preResponder: ["s"],
    messages: [
      ["e", "es", "ss"],
      ["e", "ee", "se"],
    ],
  },
  // IK:  <- s   ...   -> e, es, s, ss   <- e, ee, se
  IK: {
    preInitiator: [],
    preResponder: ["s"],
    messages: [
      ["e", "es", "s", "ss"],
      ["e", "ee", "se"],
    ],
  },
};

/** The SHA256 hash function of §12.5 over the given primitives. */
export function sha256NoiseHash(primitives: Pick<Primitives, "sha256" | "hmacSha256">): NoiseHash {
  return {
    name: "SHA256",
    hashLen: 32,
    hash: (d) => primitives.sha256(d),
    hmac: (k, d) => primitives.hmacSha256(k, d),
  };
}

/** Options of {@link HandshakeState} (Initialize(), §5.3). */
export interface HandshakeOptions {
  /** Handshake pattern (§7.5). */
  pattern: NoisePatternName;
  /** True for the party that sends the first message. */
  initiator: boolean;
  /** Prologue (§6): both parties must pass identical bytes or the handshake fails. */
  prologue?: Uint8Array;
  /** Local static X25519 secret key `s` (32 bytes). */
  staticSecretKey?: Uint8Array;
  /** Remote static X25519 public key `rs`, when the pattern has it as a pre-message. */
  remoteStaticKey?: Uint8Array;
  /** Local ephemeral secret `e`: for deterministic tests only; random by default. */
  ephemeralSecretKey?: Uint8Array;
  /** Hash function; SHA256 over the primitives by default. */
  hash?: NoiseHash;
  /** Primitive implementation; `getPrimitives()` by default. */
  primitives?: NoisePrimitives;
}

interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** HandshakeState (§5.3) for KK and IK. Use once: write/read messages in turn, then split(). */
export class HandshakeState {
  readonly #prims: NoisePrimitives;
  readonly #ss: SymmetricState;
  readonly #initiator: boolean;
  readonly #messages: readonly (readonly Token[])[];
  readonly #protocolName: string;
  #s: KeyPair | null = null;
  #e: KeyPair | null = null;
  #rs: Uint8Array | null = null;
  #re: Uint8Array | null = null;
  #next = 0;
  #failed = false;
  #split = false;

  constructor(options: HandshakeOptions) {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    if (typeof options.pattern !== "string" || !Object.hasOwn(PATTERNS, options.pattern))
      throw new RangeError(`pattern must be "KK" or "IK"`);
    const pattern = PATTERNS[options.pattern];
    if (typeof options.initiator !== "boolean") throw new TypeError("initiator must be a boolean");
    this.#prims = options.primitives ?? getPrimitives();
    const hash = options.hash ?? sha256NoiseHash(this.#prims);
    this.#initiator = options.initiator;
    this.#messages = pattern.messages;
    this.#protocolName = `Noise_${options.pattern}_25519_ChaChaPoly_${hash.name}`;
    const prologue = options.prologue === undefined ? new Uint8Array(0) : assertBytes(options.prologue, "prologue");

    const needsRs = (options.initiator ? pattern.preResponder : pattern.preInitiator).length > 0;
    if (options.staticSecretKey === undefined) throw new TypeError("staticSecretKey is required");
    const sk = assertBytesLength(options.staticSecretKey, NOISE_DH_LEN, "staticSecretKey").slice();
    this.#s = { secretKey: sk, publicKey: this.#prims.x25519PublicKey(sk) };
    if (needsRs) {
      if (options.remoteStaticKey === undefined) throw new TypeError("remoteStaticKey is required by this pattern");
      this.#rs = assertBytesLength(options.remoteStaticKey, NOISE_DH_LEN, "remoteStaticKey").slice();
    } else if (options.remoteStaticKey !== undefined) {
      throw new TypeError("remoteStaticKey is not a pre-message of this pattern: it is learned from the handshake");
    }
    if (options.ephemeralSecretKey !== undefined) {
      const ek = assertBytesLength(options.ephemeralSecretKey, NOISE_DH_LEN, "ephemeralSecretKey").slice();
      this.#e = { secretKey: ek, publicKey: this.#prims.x25519PublicKey(ek) };
    }

    this.#ss = new SymmetricState(this.#protocolName, hash, this.#prims);
    this.#ss.mixHash(prologue);
    // Pre-messages (§7.1): the initiator's first, then the responder's.
    const initiatorStatic = this.#initiator ? this.#s.publicKey : this.#rs;
    const responderStatic = this.#initiator ? this.#rs : this.#s.publicKey;
    if (pattern.preInitiator.length > 0 && initiatorStatic) this.#ss.mixHash(initiatorStatic);
    if (pattern.preResponder.length > 0 && responderStatic) this.#ss.mixHash(responderStatic);
  }

  /** The full protocol name (§8), e.g. "Noise_KK_25519_ChaChaPoly_SHA256". */
  get protocolName(): string {
    return this.#protocolName;
  }

  /** True once every handshake message was written or read. */
  get isComplete(): boolean {
    return this.#next >= this.#messages.length;
  }

  /** True when the next handshake step is a WriteMessage() by this party. */
  get isMyTurn(): boolean {
    return !this.isComplete && (this.#next % 2 === 0) === this.#initiator;
  }

  /** The remote static public key, once known (pre-message or an `s` token). */
  get remoteStaticKey(): Uint8Array | null {
    return this.#rs === null ? null : this.#rs.slice();
  }

  /** The handshake hash h (§11.2 channel binding); final once the handshake is complete. */
  getHandshakeHash(): Uint8Array {
    return this.#ss.getHandshakeHash();
  }

  #checkUsable(write: boolean): void {
    if (this.#failed || this.#split) throw new NoiseError("state", "handshake state is no longer usable");
    if (this.isComplete) throw new NoiseError("state", "handshake is already complete");
    if (this.isMyTurn !== write)
      throw new NoiseError("state", write ? "expected to read a message" : "expected to write a message");
  }

  #dh(secret: KeyPair | null, publicKey: Uint8Array | null): void {
    if (secret === null || publicKey === null) throw new NoiseError("state", "missing key for DH");
    let out: Uint8Array;
    try {
      out = this.#prims.x25519(secret.secretKey, publicKey);
    } catch (cause) {
      throw new NoiseError("invalid_dh", "X25519 rejected the peer key", { cause });
    }
    if (out.length !== NOISE_DH_LEN || isAllZero(out))
      throw new NoiseError("invalid_dh", "all-zero DH output (RFC 7748 §6.1)");
    this.#ss.mixKey(out);
    wipe(out);
  }

  #mixDh(token: "ee" | "es" | "se" | "ss"): void {
    const i = this.#initiator;
    if (token === "ee") this.#dh(this.#e, this.#re);
    else if (token === "ss") this.#dh(this.#s, this.#rs);
    else if ((token === "es") === i) this.#dh(this.#e, this.#rs);
    else this.#dh(this.#s, this.#re);
  }

  #guard<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      this.#fail();
      throw error;
    }
  }

  /** WriteMessage(payload, message_buffer): returns the handshake message to send. */
  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    assertBytes(payload, "payload");
    this.#checkUsable(true);
    const tokens = this.#messages[this.#next] ?? [];
    const overhead = tokens.reduce(
      (n, t) => n + (t === "e" ? NOISE_DH_LEN : t === "s" ? NOISE_DH_LEN + NOISE_TAG_LEN : 0),
      NOISE_TAG_LEN,
    );
    if (payload.length + overhead > NOISE_MAX_MESSAGE) {
      throw new RangeError(`payload must be at most ${NOISE_MAX_MESSAGE - overhead} bytes, got ${payload.length}`);
    }
    return this.#guard(() => {
      const parts: Uint8Array[] = [];
      for (const token of tokens) {
        if (token === "e") {
          if (this.#e === null) {
            const sk = globalThis.crypto.getRandomValues(new Uint8Array(NOISE_DH_LEN));
            this.#e = { secretKey: sk, publicKey: this.#prims.x25519PublicKey(sk) };
          }
          parts.push(this.#e.publicKey);
          this.#ss.mixHash(this.#e.publicKey);
        } else if (token === "s") {
          parts.push(this.#ss.encryptAndHash(this.#requireS().publicKey));
        } else {
          this.#mixDh(token);
        }
      }
      parts.push(this.#ss.encryptAndHash(payload));
      this.#next += 1;
      return concatBytes(...parts);
    });
  }

  /** ReadMessage(message, payload_buffer): returns the decrypted payload. */
  readMessage(message: Uint8Array): Uint8Array {
    assertBytes(message, "message");
    this.#checkUsable(false);
    const tokens = this.#messages[this.#next] ?? [];
    return this.#guard(() => {
      if (message.length > NOISE_MAX_MESSAGE)
        throw new NoiseError("message_too_long", "handshake message exceeds 65535 bytes");
      let offset = 0;
      const take = (n: number): Uint8Array => {
        if (offset + n > message.length) throw new NoiseError("message_too_short", "handshake message is truncated");
        const out = message.slice(offset, offset + n);
        offset += n;
        return out;
      };
      for (const token of tokens) {
        if (token === "e") {
          this.#re = take(NOISE_DH_LEN);
          this.#ss.mixHash(this.#re);
        } else if (token === "s") {
          const len = this.#ss.hasKey() ? NOISE_DH_LEN + NOISE_TAG_LEN : NOISE_DH_LEN;
          this.#rs = this.#ss.decryptAndHash(take(len));
        } else {
          this.#mixDh(token);
        }
      }
      if (message.length - offset < NOISE_TAG_LEN)
        throw new NoiseError("message_too_short", "handshake message is truncated");
      const payload = this.#ss.decryptAndHash(message.subarray(offset));
      this.#next += 1;
      return payload;
    });
  }

  #requireS(): KeyPair {
    if (this.#s === null) throw new NoiseError("state", "missing static key");
    return this.#s;
  }

  /**
   * Split() (§5.2) once the handshake is complete: `initiatorToResponder` is c1 and
   * `responderToInitiator` is c2. Wipes ck and every private key held; callable once.
   */
  split(): { initiatorToResponder: CipherState; responderToInitiator: CipherState } {
    if (this.#failed || this.#split) throw new NoiseError("state", "handshake state is no longer usable");
    if (!this.isComplete) throw new NoiseError("state", "handshake is not complete");
    const [c1, c2] = this.#ss.split();
    this.#split = true;
    this.#wipeSecrets();
    return { initiatorToResponder: c1, responderToInitiator: c2 };
  }

  #wipeSecrets(): void {
    this.#ss.wipe();
    wipe(this.#s?.secretKey, this.#e?.secretKey);
    this.#s = null;
    this.#e = null;
  }

  #fail(): void {
    this.#failed = true;
    this.#wipeSecrets();
  }

  /** Abandons the handshake: wipes every secret; later calls throw. */
  destroy(): void {
    this.#fail();
  }
}
