import type { VerifiedGrant } from "../grants/verify-grant";
import type { Logger } from "../log";
import type { TAuditEntry, TE2EResponse } from "../protocol";
import type { AuditSink } from "./audit-log";
import { summarizeTarget } from "./summarize-target";

/** Request type recorded for a message that was not a valid request at all. */
const MALFORMED_TYPE = "malformed";
const TYPE = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9-]*)*$/;
/**
 * Keystroke batches and resizes of an open terminal (one request per animation frame while
 * someone types) and pings. Their successes are summed up elsewhere: keystrokes in the
 * terminal's own open/close records (`terminal.session.*`, with bytes in and out), pings in
 * `session.close`. Only their failures get a record each, so typing or an open page cannot
 * rotate the rest of the log away.
 */
const SUMMARIZED_WHEN_OK: ReadonlySet<string> = new Set(["terminal.input", "terminal.resize", "ping"]);
/**
 * `ping` carries nothing and an open instance page sends one every few seconds: successful ones
 * are counted per session and the count goes into the session's `session.close` record.
 */
const COUNTED_PER_SESSION = "ping";

function who(grant: VerifiedGrant): Pick<TAuditEntry, "accountId" | "signer" | "role"> {
  return { accountId: grant.accountId, signer: grant.signerFingerprint ?? null, role: grant.role };
}

/** Appends without ever throwing into the caller: a failed audit write is logged, loudly. */
function safeAppend(sink: AuditSink, entry: TAuditEntry, logger: Logger): void {
  try {
    sink.append(entry);
  } catch (error) {
    logger.error("audit log: append failed", {
      type: entry.type,
      error: error instanceof Error ? error.name : "unknown",
    });
  }
}

/**
 * What the dispatcher and the responder record. Requests: who (verified grant), what (type and
 * a pattern-checked target summary of the body, never the body), the result or error code and
 * how long it took. Session refusals come before any grant is verified, so anyone who reaches
 * the relay can cause them: at most `perMinute` are recorded per minute, and the next recorded
 * one carries how many were left out (`suppressed`), so a flood cannot rotate real records away.
 */
export class AuditRecorder {
  #windowStart = 0;
  #inWindow = 0;
  #suppressed = 0;

  constructor(
    /** The log; the terminal appends its own records (byte counts) here too. */
    readonly sink: AuditSink,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly perMinute = 30,
  ) {}

  /** Successful pings per open session, for its `session.close` record. */
  readonly #pings = new Map<string, number>();

  request(a: {
    grant: VerifiedGrant;
    sessionId: string;
    raw: unknown;
    response: TE2EResponse;
    repeated: boolean;
    durationMs: number;
  }): void {
    const msg = typeof a.raw === "object" && a.raw !== null ? (a.raw as { type?: unknown; body?: unknown }) : {};
    const type =
      typeof msg.type === "string" && msg.type.length <= 64 && TYPE.test(msg.type) ? msg.type : MALFORMED_TYPE;
    const error = a.response.kind === "error" ? a.response.error.code : null;
    if (error === null && !a.repeated && SUMMARIZED_WHEN_OK.has(type)) {
      if (type === COUNTED_PER_SESSION) this.#pings.set(a.sessionId, (this.#pings.get(a.sessionId) ?? 0) + 1);
      return;
    }
    safeAppend(
      this.sink,
      {
        kind: "request",
        ...who(a.grant),
        type,
        target: summarizeTarget(msg.body),
        result: error === null ? "ok" : "error",
        code: error,
        durationMs: Math.max(0, Math.round(a.durationMs)),
        metrics: null,
        detail: a.repeated ? "answered from the replay record (not run again)" : null,
      },
      this.logger,
    );
  }

  sessionOpened(grant: VerifiedGrant, sessionId: string): void {
    safeAppend(
      this.sink,
      {
        kind: "session",
        ...who(grant),
        type: "session.open",
        target: summarizeTarget({ sessionId }),
        result: "ok",
        code: null,
        durationMs: null,
        metrics: null,
        detail: grant.via === "delegated" ? "grant signed by a delegated admin" : null,
      },
      this.logger,
    );
  }

  /** The end of a session opened with `grant`: why, how long it lasted, and its pings. */
  sessionClosed(grant: VerifiedGrant, sessionId: string, reason: string, durationMs: number): void {
    const pings = this.#pings.get(sessionId) ?? 0;
    this.#pings.delete(sessionId);
    safeAppend(
      this.sink,
      {
        kind: "session",
        ...who(grant),
        type: "session.close",
        target: summarizeTarget({ sessionId }),
        result: "ok",
        code: reason,
        durationMs: Math.max(0, Math.round(durationMs)),
        metrics: pings > 0 ? { pings } : null,
        detail: null,
      },
      this.logger,
    );
  }

  sessionRefused(code: string, sessionId: string): void {
    const now = this.now();
    if (now - this.#windowStart >= 60_000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.perMinute) {
      this.#suppressed += 1;
      return;
    }
    this.#inWindow += 1;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    safeAppend(
      this.sink,
      {
        kind: "session",
        accountId: null,
        signer: null,
        role: null,
        type: "session.refused",
        target: summarizeTarget({ sessionId }),
        result: "error",
        code,
        durationMs: null,
        metrics: suppressed > 0 ? { suppressed } : null,
        detail: null,
      },
      this.logger,
    );
  }
}
