/**
 * End-to-end sessions between a browser and a companion, through a console that only relays
 * ciphertext: a Noise_KK_25519_ChaChaPoly_SHA256 handshake (noiseprotocol.org/noise.html,
 * revision 34) and counter-checked transport frames. docs/PROTOCOL-SESSION.md is the
 * specification; this file is the module's only public entry.
 *
 * Typical use:
 *
 * ```ts
 * // browser
 * const pending = initiateSession({ protocolVersion, instanceId, accountId, accountSecretKey, instancePublicKey, payload });
 * relay(pending.message);
 * const { session, payload: companionHello } = pending.finish(await reply());
 * // companion
 * const incoming = acceptSession({ protocolVersion, instanceId, accountId, instanceSecretKey, accountPublicKey, message });
 * const { message: reply, session } = incoming.respond(hello);
 * // both
 * const frame = session.seal(bytes); const bytes2 = peer.open(frame);
 * ```
 *
 * @module
 */

export {
  /** Starts a session as the browser (Noise §5.3 WriteMessage of `-> e, es, ss`). */
  initiateSession,
  /** Reads the browser's first message as the companion (Noise §5.3 ReadMessage). */
  acceptSession,
  /** The browser's pending handshake; `finish(reply)` completes it. */
  PendingInitiatorSession,
  /** The companion's pending handshake; `respond(payload)` completes it. */
  PendingResponderSession,
  /** "Noise_KK_25519_ChaChaPoly_SHA256" (Noise §8). */
  SESSION_PROTOCOL_NAME,
  /** Largest handshake payload, 65487 bytes (Noise §3: 65535-byte messages). */
  SESSION_MAX_HANDSHAKE_PAYLOAD,
} from "./handshake";
export type {
  AcceptSessionOptions,
  EstablishedSession,
  InitiateSessionOptions,
  SessionCommonOptions,
} from "./handshake";

export {
  /** Encodes the prologue (Noise §6) binding label, protocol version, instance id and account id. */
  encodeSessionPrologue,
  /** Domain-separation label that starts every prologue. */
  SESSION_PROLOGUE_LABEL,
  /** Longest instance or account id in UTF-8 bytes. */
  SESSION_MAX_ID_BYTES,
  /** Largest protocol version (u32). */
  SESSION_MAX_PROTOCOL_VERSION,
} from "./prologue";
export type { SessionBinding } from "./prologue";

export {
  /** An established session: `seal()`/`open()` frames, `handshakeHash` for channel binding (Noise §11.2). */
  Session,
  /** Version byte of transport frames. */
  SESSION_FRAME_VERSION,
  /** Transport frame header length (version + counter). */
  SESSION_FRAME_HEADER_LEN,
  /** Largest plaintext per frame: 65535 − 16 (Noise §3). */
  SESSION_MAX_PLAINTEXT,
  /** Largest transport frame in bytes. */
  SESSION_MAX_FRAME,
  /** Default rekey interval in frames per direction (Noise §11.3). */
  SESSION_DEFAULT_REKEY_INTERVAL,
  /** Largest accepted rekey interval. */
  SESSION_MAX_REKEY_INTERVAL,
} from "./transport";
export type { SessionRole } from "./transport";

export {
  /** Base class of every session failure (stable `code`, `retryable`). */
  SessionError,
  /** Handshake did not authenticate or was malformed (Noise §5.3). */
  SessionHandshakeError,
  /** Transport frame not parseable (length). */
  SessionFrameError,
  /** Transport frame version not supported. */
  SessionVersionError,
  /** Counter below expected: replay or reorder. */
  SessionReplayError,
  /** Counter above expected: frames dropped. */
  SessionGapError,
  /** Expected counter, bad tag: forged, modified or reflected frame. */
  SessionForgeryError,
  /** Sending counter reached 2^64-1 (Noise §5.1). */
  SessionExhaustedError,
  /** Session or handshake closed or already used. */
  SessionClosedError,
} from "./errors";
export type { SessionErrorCode } from "./errors";

export type {
  /** The primitive operations the session needs (a subset of `Primitives`). */
  NoisePrimitives,
} from "./noise";
