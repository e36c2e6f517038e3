/**
 * Typed failures of the end-to-end session (docs/PROTOCOL-SESSION.md, "Error taxonomy").
 *
 * Every error carries a stable `code` and a `retryable` flag, and a message that is safe to show
 * or log: it never contains key material, plaintext or ciphertext. Counters are public (they
 * travel in clear in every frame), so the replay and gap errors expose them for diagnostics.
 */

/** Stable codes of {@link SessionError}; one per failure class, never reused. */
export type SessionErrorCode =
  | "handshake_failed"
  | "malformed_frame"
  | "unsupported_version"
  | "replay"
  | "gap"
  | "forgery"
  | "nonce_exhausted"
  | "closed";

/**
 * Error names by code, fixed here rather than read from the class (`new.target.name`), which a
 * minifier renames: the companion ships as a minified bundle, and logs must stay readable.
 */
const ERROR_NAMES: Readonly<Record<SessionErrorCode, string>> = {
  handshake_failed: "SessionHandshakeError",
  malformed_frame: "SessionFrameError",
  unsupported_version: "SessionVersionError",
  replay: "SessionReplayError",
  gap: "SessionGapError",
  forgery: "SessionForgeryError",
  nonce_exhausted: "SessionExhaustedError",
  closed: "SessionClosedError",
};

/**
 * Base class of every session failure. Catch this to handle them all; switch on `code` to tell
 * them apart. `retryable` is false for all of them: a failed frame or handshake is never retried
 * on the same session, the caller closes it and runs a new handshake.
 */
export class SessionError extends Error {
  /** Stable, machine-readable failure class. */
  readonly code: SessionErrorCode;
  /** Whether repeating the same call can succeed. Always false for session errors. */
  readonly retryable: boolean = false;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = ERROR_NAMES[code];
    this.code = code;
  }
}

/**
 * The handshake failed: a message did not authenticate (wrong static key, different prologue,
 * tampering), a DH output was all zero (RFC 7748 §6.1), or a message was malformed. Noise §5.3:
 * after an error the HandshakeState is deleted; this module wipes it and refuses further use.
 */
export class SessionHandshakeError extends SessionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("handshake_failed", message, options);
  }
}

/** A transport frame is too short, too long, or otherwise not parseable. Nothing was decrypted. */
export class SessionFrameError extends SessionError {
  constructor(message: string) {
    super("malformed_frame", message);
  }
}

/** A transport frame carries a version byte this implementation does not speak. */
export class SessionVersionError extends SessionError {
  /** The version byte found in the frame. */
  readonly version: number;
  constructor(version: number) {
    super("unsupported_version", `session frame version ${version} is not supported`);
    this.version = version;
  }
}

/**
 * Replay or reorder: the frame's counter is below the next expected one, so it was already
 * accepted (replay) or is arriving after a later frame (reorder). Rejected before decryption.
 */
export class SessionReplayError extends SessionError {
  /** Counter the receiver expected next. */
  readonly expected: bigint;
  /** Counter carried by the rejected frame. */
  readonly received: bigint;
  constructor(expected: bigint, received: bigint) {
    super("replay", `session frame ${received} replayed or reordered (expected ${expected})`);
    this.expected = expected;
    this.received = received;
  }
}

/**
 * Gap: the frame's counter is above the next expected one, so at least one frame was dropped
 * (or is being held back) by the relay. Rejected before decryption; the session cannot recover
 * the missing frame, the caller should close it.
 */
export class SessionGapError extends SessionError {
  /** Counter the receiver expected next. */
  readonly expected: bigint;
  /** Counter carried by the rejected frame. */
  readonly received: bigint;
  constructor(expected: bigint, received: bigint) {
    super("gap", `session frame ${received} arrived before ${expected}: frames were dropped`);
    this.expected = expected;
    this.received = received;
  }
}

/**
 * The frame's counter was the expected one but its tag did not verify: the frame was modified
 * or forged, or it is a frame reflected back to its sender whose counter happens to equal the
 * sender's next expected receive counter (each direction has its own key, Noise §5.2 Split(),
 * so it fails here; other reflected frames fail earlier as replay or gap).
 * Carries no `cause` and a fixed message (review finding 9): the primitive's error says nothing
 * the caller may use, and must not leak into logs.
 */
export class SessionForgeryError extends SessionError {
  constructor() {
    super("forgery", "session frame failed authentication");
  }
}

/**
 * The sending counter reached its limit: Noise §5.1 reserves nonce 2^64-1, so at most 2^64-1
 * frames go out per direction and session. Run a new handshake.
 */
export class SessionExhaustedError extends SessionError {
  constructor() {
    super("nonce_exhausted", "session nonce space exhausted: run a new handshake");
  }
}

/** The session (or pending handshake) was closed, failed earlier, or was already used. */
export class SessionClosedError extends SessionError {
  constructor(what = "session") {
    super("closed", `${what} is closed`);
  }
}
