/**
 * Veil's session handshake: Noise_KK_25519_ChaChaPoly_SHA256 (Noise rev 34 §7.5), browser as
 * initiator (the account's certified X25519 static key), companion as responder (the instance's
 * X25519 static key from the instance certificate). Both statics are known in advance, so both
 * are pre-messages and neither is ever sent. The prologue binds label, protocol version,
 * instance id and account id (./prologue.ts).
 *
 *   initiator                                  responder
 *   -> e, es, ss   [payload: opaque bytes]  ->
 *                 <- e, ee, se   [payload: opaque bytes]
 *   Split(): initiator→responder key, responder→initiator key
 */
import { NoiseError } from "./cipher-state";
import { SessionClosedError, SessionHandshakeError } from "./errors";
import { HandshakeState, NOISE_DH_LEN, type NoisePrimitives } from "./noise";
import { encodeSessionPrologue, type SessionBinding } from "./prologue";
import { Session, SESSION_MAX_REKEY_INTERVAL, type SessionRole } from "./transport";
import { assertBytesLength, assertBytesMax, assertInteger } from "./validate";

/** The Noise protocol name of every Veil session (§8). */
export const SESSION_PROTOCOL_NAME = "Noise_KK_25519_ChaChaPoly_SHA256";
/** Largest handshake payload: 65535 − 32 (e) − 16 (tag), Noise §3. */
export const SESSION_MAX_HANDSHAKE_PAYLOAD = 65_487;

/** Options shared by both ends. */
export interface SessionCommonOptions extends SessionBinding {
  /** Frames per direction between rekeys (Noise §11.3); both ends must agree. */
  rekeyInterval?: number;
  /** Ephemeral X25519 secret key: deterministic tests only; random by default. */
  ephemeralSecretKey?: Uint8Array;
  /** Primitive implementation; `getPrimitives()` by default. */
  primitives?: NoisePrimitives;
}

/** Options of {@link initiateSession} (the browser). */
export interface InitiateSessionOptions extends SessionCommonOptions {
  /** The account's X25519 static secret key (32 bytes), certified by its identity key. */
  accountSecretKey: Uint8Array;
  /** The instance's X25519 static public key (32 bytes), from the verified instance certificate. */
  instancePublicKey: Uint8Array;
  /** First handshake payload (e.g. session id, capabilities); opaque here. */
  payload?: Uint8Array;
}

/** Options of {@link acceptSession} (the companion). */
export interface AcceptSessionOptions extends SessionCommonOptions {
  /** The instance's X25519 static secret key (32 bytes). */
  instanceSecretKey: Uint8Array;
  /** The account's X25519 static public key (32 bytes), from a verified grant. */
  accountPublicKey: Uint8Array;
  /** The first handshake message, as received. */
  message: Uint8Array;
}

/** Result of completing a handshake. */
export interface EstablishedSession {
  /** The session, ready to seal and open frames. */
  session: Session;
  /** The peer's handshake payload (already authenticated). */
  payload: Uint8Array;
}

function asHandshakeError(error: unknown): unknown {
  return error instanceof NoiseError ? new SessionHandshakeError("session handshake failed", { cause: error }) : error;
}

function newState(
  initiator: boolean,
  options: SessionCommonOptions,
  secretKey: Uint8Array,
  remoteKey: Uint8Array,
): HandshakeState {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const prologue = encodeSessionPrologue(options);
  if (options.rekeyInterval !== undefined)
    assertInteger(options.rekeyInterval, 1, SESSION_MAX_REKEY_INTERVAL, "rekeyInterval");
  try {
    return new HandshakeState({
      pattern: "KK",
      initiator,
      prologue,
      staticSecretKey: secretKey,
      remoteStaticKey: remoteKey,
      ephemeralSecretKey: options.ephemeralSecretKey,
      primitives: options.primitives,
    });
  } catch (error) {
    throw asHandshakeError(error);
  }
}

function establish(state: HandshakeState, role: SessionRole, rekeyInterval: number | undefined): Session {
  const handshakeHash = state.getHandshakeHash();
  const remoteStaticKey = state.remoteStaticKey ?? new Uint8Array(0);
  const { initiatorToResponder, responderToInitiator } = state.split();
  const [send, receive] =
    role === "initiator" ? [initiatorToResponder, responderToInitiator] : [responderToInitiator, initiatorToResponder];
  return new Session({ role, send, receive, handshakeHash, remoteStaticKey, rekeyInterval });
}

/** The browser's half-done handshake: send `message`, then pass the reply to `finish()`. */
export class PendingInitiatorSession {
  /** The first handshake message, to send to the companion. */
  readonly message: Uint8Array;
  readonly #state: HandshakeState;
  readonly #rekeyInterval: number | undefined;
  #done = false;

  constructor(state: HandshakeState, message: Uint8Array, rekeyInterval: number | undefined) {
    this.#state = state;
    this.message = message;
    this.#rekeyInterval = rekeyInterval;
  }

  /**
   * Reads the companion's reply. Throws SessionHandshakeError when it does not authenticate
   * (wrong instance key, different prologue, tampering); the handshake is then wiped and
   * unusable. Single use: a second call throws SessionClosedError.
   */
  finish(reply: Uint8Array): EstablishedSession {
    if (this.#done) throw new SessionClosedError("handshake");
    assertBytesMax(reply, 65_535, "reply");
    this.#done = true;
    try {
      const payload = this.#state.readMessage(reply);
      return { session: establish(this.#state, "initiator", this.#rekeyInterval), payload };
    } catch (error) {
      this.#state.destroy();
      throw asHandshakeError(error);
    }
  }

  /** Abandons the handshake and wipes its secrets. */
  abort(): void {
    this.#done = true;
    this.#state.destroy();
  }
}

/** The companion's half-done handshake: inspect `payload`, then `respond()`. */
export class PendingResponderSession {
  /** The initiator's handshake payload. Noise §7.7: authenticated but replayable, no forward secrecy. */
  readonly payload: Uint8Array;
  readonly #state: HandshakeState;
  readonly #rekeyInterval: number | undefined;
  #done = false;

  constructor(state: HandshakeState, payload: Uint8Array, rekeyInterval: number | undefined) {
    this.#state = state;
    this.payload = payload;
    this.#rekeyInterval = rekeyInterval;
  }

  /** Writes the reply (to send back) and returns the established session. Single use. */
  respond(payload: Uint8Array = new Uint8Array(0)): { message: Uint8Array; session: Session } {
    if (this.#done) throw new SessionClosedError("handshake");
    assertBytesMax(payload, SESSION_MAX_HANDSHAKE_PAYLOAD, "payload");
    this.#done = true;
    try {
      const message = this.#state.writeMessage(payload);
      return { message, session: establish(this.#state, "responder", this.#rekeyInterval) };
    } catch (error) {
      this.#state.destroy();
      throw asHandshakeError(error);
    }
  }

  /** Abandons the handshake and wipes its secrets. */
  abort(): void {
    this.#done = true;
    this.#state.destroy();
  }
}

/**
 * Starts a session as the browser: returns the first message (-> e, es, ss) to relay to the
 * companion. Throws TypeError/RangeError naming a bad field.
 */
export function initiateSession(options: InitiateSessionOptions): PendingInitiatorSession {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const secretKey = assertBytesLength(options.accountSecretKey, NOISE_DH_LEN, "accountSecretKey");
  const remoteKey = assertBytesLength(options.instancePublicKey, NOISE_DH_LEN, "instancePublicKey");
  const payload = assertBytesMax(options.payload ?? new Uint8Array(0), SESSION_MAX_HANDSHAKE_PAYLOAD, "payload");
  const state = newState(true, options, secretKey, remoteKey);
  try {
    return new PendingInitiatorSession(state, state.writeMessage(payload), options.rekeyInterval);
  } catch (error) {
    state.destroy();
    throw asHandshakeError(error);
  }
}

/**
 * Reads the browser's first message as the companion. Throws SessionHandshakeError when it does
 * not authenticate: wrong account or instance key, or a different prologue (version, instance
 * id, account id). Throws TypeError/RangeError naming a bad field.
 */
export function acceptSession(options: AcceptSessionOptions): PendingResponderSession {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const secretKey = assertBytesLength(options.instanceSecretKey, NOISE_DH_LEN, "instanceSecretKey");
  const remoteKey = assertBytesLength(options.accountPublicKey, NOISE_DH_LEN, "accountPublicKey");
  const message = assertBytesMax(options.message, 65_535, "message");
  const state = newState(false, options, secretKey, remoteKey);
  try {
    return new PendingResponderSession(state, state.readMessage(message), options.rekeyInterval);
  } catch (error) {
    state.destroy();
    throw asHandshakeError(error);
  }
}
