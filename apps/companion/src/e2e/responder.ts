import {
  fromBase64Url,
  fromUtf8,
  SessionError,
  toBase64Url,
  utf8,
  type IdentityPublicKey,
  type Session,
} from "../crypto";
import { MAX_E2E_MESSAGE_BYTES, ZIdSchema, type TE2EResponse, type TRelayFrame, type TRequestType } from "../protocol";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import { dispatchRequest, errorResponse, isPromise, type DispatchContext, type MaybePromise } from "./dispatch-request";
import { ReplayCache } from "./replay-cache";
import type { AuditRecorder } from "../audit/record-request";
import type { RequestHandler } from "./request-context";
import { DEFAULT_PUSH_STREAM_LIMITS, type PushStreamLimits } from "./push-stream";
import {
  acknowledgeStream,
  requestContext,
  stopStreams,
  type SessionActions,
  type SessionStreams,
} from "./session-context";
import { BoxKeyEpochs, type EpochFloors } from "../grants/box-key-epochs";
import { revokedBy } from "../grants/verify-grant";
import { checkSessionOpen, companionHello } from "./session-open";
import { sendMessage, type MessageOutlet } from "./outgoing-message";

/** Longest wait one timer takes (setTimeout's limit); a grant expiring later is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of the {@link Responder}: keys, signer, clock, logger and the send function come in from outside. */
export interface ResponderOptions {
  instanceId: string;
  /** The instance's X25519 static private key. */
  boxPrivateKey: Uint8Array;
  /** The pinned grant signer. */
  signer: IdentityPublicKey;
  handlers: Record<TRequestType, RequestHandler>;
  /** Sends a frame to the console for relaying. */
  send(frame: TRelayFrame): void;
  clock: Clock;
  logger: Logger;
  maxSessions?: number;
  /** Open sessions one account may hold (so one account cannot take every slot); default 32. */
  maxSessionsPerAccount?: number;
  maxSubscriptionsPerSession?: number;
  /** Requests waiting in one session before new ones get `rate_limited`. */
  maxQueuedPerSession?: number;
  cache?: ReplayCache;
  /** The audit log: sessions opened and refused, and (through the dispatcher) every request. */
  audit?: AuditRecorder;
  /** Queue and byte budget of each push stream (`ctx.stream`). */
  pushStreamLimits?: PushStreamLimits;
  /** Revoked grants (`grants.revoke`): an account's grants issued at or before this time are refused. */
  revokedBefore?: (accountId: string) => number | undefined;
  /** Box-key epoch floors (default: in memory only); the companion shares its saved ones with snapshots. */
  boxKeyEpochs?: EpochFloors;
}

interface LiveSession extends SessionStreams {
  readonly session: Session;
  readonly openedAt: number;
  /** What the dispatcher needs of this session, made once when it opens. */
  dispatch: DispatchContext;
  /** The answers still to come, in order: a request waits here behind an unfinished one. */
  queue: Promise<void>;
  /** Requests of this session not answered yet, the one running included. */
  queued: number;
  /** What its requests' contexts use of it (also to end a subscription whose event cannot go out). */
  actions: SessionActions;
  /** Fires when the grant expires, so a quiet session is closed on time too. */
  expiryTimer: unknown;
}

/** A summary of one open session, for `status`. */
export interface SessionSummary {
  sessionId: string;
  accountId: string;
  role: string;
  openedAt: number;
}

/**
 * The companion end of every relayed E2E session: verifies the grant in the session-open
 * frame, runs the Noise_KK responder with the instance's static key and the grant's certified
 * box key (prologue: protocol version, instance id, account id), then opens each transport
 * frame strictly in order and answers requests. Any frame that fails (replay, reorder, gap,
 * forgery, malformed) closes that session; nothing in it is executed.
 */
export class Responder {
  readonly #o: ResponderOptions;
  readonly #sessions = new Map<string, LiveSession>();
  readonly #cache: ReplayCache;
  /** Highest box-key certificate epoch seen per account: refuses rollbacks. */
  readonly #boxKeyEpochs: EpochFloors;
  /** How a message leaves a session (sealed, within the size the browser accepts). */
  readonly #outlet: MessageOutlet<LiveSession>;

  constructor(options: ResponderOptions) {
    this.#o = options;
    this.#cache = options.cache ?? new ReplayCache();
    this.#boxKeyEpochs = options.boxKeyEpochs ?? new BoxKeyEpochs();
    this.#outlet = {
      instanceId: options.instanceId,
      logger: options.logger,
      send: (frame) => options.send(frame),
      isOpen: (live) => this.#isOpen(live),
      close: (live, reason) => this.#closeLive(live, reason, true),
    };
  }

  /** How many sessions are open (cheap: read on every frame sent). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Open sessions, for `status`. */
  sessions(): SessionSummary[] {
    return [...this.#sessions.values()].map((s) => ({
      sessionId: s.sessionId,
      accountId: s.grant.accountId,
      role: s.grant.role,
      openedAt: s.openedAt,
    }));
  }

  /** Handles one frame relayed by the console. Never throws. */
  handleFrame(frame: TRelayFrame): void {
    if (frame.instanceId !== this.#o.instanceId) {
      this.#o.logger.warn("frame for another instance dropped", { sessionId: frame.sessionId });
      return;
    }
    try {
      if (frame.kind === "handshake") this.#open(frame.sessionId, fromBase64Url(frame.frame));
      else if (frame.kind === "transport") this.#receive(frame.sessionId, fromBase64Url(frame.frame));
      else this.close(frame.sessionId, "peer_closed", false);
    } catch (error) {
      this.#o.logger.error("frame handling failed", {
        sessionId: frame.sessionId,
        error: error instanceof Error ? error.name : "unknown",
      });
      this.close(frame.sessionId, "internal", true);
    }
  }

  #open(sessionId: string, bytes: Uint8Array): void {
    const log = this.#o.logger;
    if (this.#sessions.has(sessionId)) {
      log.warn("session refused", { sessionId, code: "session_exists" });
      return;
    }
    if (this.#sessions.size >= (this.#o.maxSessions ?? 256)) {
      this.#sendClose(sessionId, "too_many_sessions");
      return;
    }
    const opened = checkSessionOpen(bytes, {
      instanceId: this.#o.instanceId,
      boxPrivateKey: this.#o.boxPrivateKey,
      signer: this.#o.signer,
      now: this.#o.clock.now(),
      boxKeyEpochs: this.#boxKeyEpochs,
      ...(this.#o.revokedBefore !== undefined ? { revokedBefore: this.#o.revokedBefore } : {}),
      sessionsOf: (accountId) => this.#sessionsOf(accountId),
      maxSessionsPerAccount: this.#o.maxSessionsPerAccount ?? 32,
    });
    if (!opened.ok) {
      log.warn("session refused", { sessionId, code: opened.code });
      if (opened.audited) this.#o.audit?.sessionRefused(opened.code, sessionId);
      this.#sendClose(sessionId, opened.reason);
      return;
    }
    const { grant, pending } = opened;
    const pushStreamLimits = this.#o.pushStreamLimits ?? DEFAULT_PUSH_STREAM_LIMITS;
    const hello = companionHello(this.#o.instanceId, grant, pushStreamLimits.windowBytes);
    const { message, session } = pending.respond(utf8(JSON.stringify(hello)));
    // Every action is bound to this `live`: a timer left over from it never touches a later
    // session that reuses the session id.
    const actions: SessionActions = {
      instanceId: this.#o.instanceId,
      clock: this.#o.clock,
      logger: this.#o.logger,
      maxSubscriptions: this.#o.maxSubscriptionsPerSession ?? 8,
      pushStreamLimits,
      send: (m) => void this.#sendMessage(live, m),
      end: (reason) => this.#closeLive(live, reason, true),
      isOpen: () => this.#isOpen(live),
    };
    const live: LiveSession = {
      sessionId,
      session,
      grant,
      openedAt: this.#o.clock.now(),
      subscriptions: new Map(),
      streams: new Map(),
      dispatch: {
        grant,
        instanceId: this.#o.instanceId,
        now: () => this.#o.clock.now(),
        cache: this.#cache,
        handlers: this.#o.handlers,
        logger: this.#o.logger,
        sessionId,
        makeContext: (requestId) => requestContext(live, requestId, actions),
        audit: this.#o.audit,
      },
      queue: Promise.resolve(),
      queued: 0,
      actions,
      expiryTimer: undefined,
    };
    this.#sessions.set(sessionId, live);
    this.#armExpiry(live);
    log.info("session opened", { sessionId, accountId: grant.accountId, role: grant.role, via: grant.via });
    this.#o.audit?.sessionOpened(grant, sessionId);
    this.#o.send({ instanceId: this.#o.instanceId, sessionId, kind: "handshake", frame: toBase64Url(message) });
  }

  /** Closes the session when its grant has expired; whether it did. */
  #closedExpired(live: LiveSession): boolean {
    if (live.grant.expiresAt > this.#o.clock.now()) return false;
    this.#o.logger.warn("grant expired: closing the session", { sessionId: live.sessionId });
    this.#closeLive(live, "grant_expired", true);
    return true;
  }

  /**
   * Closes `live` when its grant expires, traffic or not (a quiet session must not keep its
   * slot, or a terminal, past the grant). A timer waits at most MAX_TIMER_MS: a later expiry is
   * re-armed from there. The timer never throws.
   */
  #armExpiry(live: LiveSession): void {
    const wait = Math.max(0, Math.min(live.grant.expiresAt - this.#o.clock.now(), MAX_TIMER_MS));
    live.expiryTimer = this.#o.clock.setTimeout(() => {
      live.expiryTimer = undefined;
      if (!this.#isOpen(live)) return;
      try {
        if (!this.#closedExpired(live)) this.#armExpiry(live);
      } catch (error) {
        this.#o.logger.error("closing an expired session failed", {
          sessionId: live.sessionId,
          error: error instanceof Error ? error.name : "unknown",
        });
      }
    }, wait);
  }

  /** Whether `live` is still the open session of its id. */
  #isOpen(live: LiveSession): boolean {
    return this.#sessions.get(live.sessionId) === live && !live.session.closed;
  }

  /** Closes `live` only if it is still the session of its id (not a later one that reuses the id). */
  #closeLive(live: LiveSession, reason: string, notify: boolean): void {
    if (this.#sessions.get(live.sessionId) === live) this.close(live.sessionId, reason, notify);
  }

  /** Open sessions of one account (a walk over at most `maxSessions`, once per session opened). */
  #sessionsOf(accountId: string): number {
    let n = 0;
    for (const live of this.#sessions.values()) if (live.grant.accountId === accountId) n += 1;
    return n;
  }

  #receive(sessionId: string, bytes: Uint8Array): void {
    const live = this.#sessions.get(sessionId);
    if (live === undefined) {
      this.#o.logger.warn("frame for unknown session dropped", { sessionId });
      return;
    }
    let message: unknown;
    try {
      const plaintext = live.session.open(bytes);
      if (plaintext.length > MAX_E2E_MESSAGE_BYTES) throw new RangeError("message too large");
      message = JSON.parse(fromUtf8(plaintext));
    } catch (error) {
      const code = error instanceof SessionError ? error.code : "malformed";
      this.#o.logger.warn("session frame rejected: closing the session", { sessionId, code });
      this.close(sessionId, code, true);
      return;
    }
    if (this.#closedExpired(live)) return;
    // A stream acknowledgement is taken at once, outside the request queue, and never answered.
    // (A malformed one goes on, and is answered as a malformed request.)
    if ((message as { kind?: unknown } | null)?.kind === "ack" && acknowledgeStream(live, message)) return;
    // Requests of one session are answered in arrival order; a flood beyond the cap is refused.
    if (live.queued >= (this.#o.maxQueuedPerSession ?? 64)) {
      const id = (message as { id?: unknown } | null)?.id;
      this.#sendMessage(
        live,
        errorResponse(typeof id === "string" && ZIdSchema.safeParse(id).success ? id : null, "rate_limited"),
      );
      return;
    }
    live.queued += 1;
    const fail = (error: unknown): void => {
      this.#o.logger.error("answering a request failed", {
        sessionId,
        error: error instanceof Error ? error.name : "unknown",
      });
      this.#closeLive(live, "internal", true);
    };
    const answer = (): MaybePromise<void> => {
      // A request that waited behind a slower one runs only on a session still open, with a grant
      // still valid: a session closed (by the peer, a revocation or expiry) takes its queue with it.
      if (!this.#isOpen(live) || this.#closedExpired(live)) return undefined;
      let answered = false;
      const unqueue = (error: unknown): never => {
        if (!answered) live.queued -= 1;
        throw error;
      };
      try {
        const pending = dispatchRequest(message, live.dispatch, (response, json) => {
          answered = true;
          this.#answered(live, response, json);
        });
        return isPromise(pending) ? pending.catch(unqueue) : pending;
      } catch (error) {
        return unqueue(error);
      }
    };
    // Nothing of this session ahead of it: run it now, and a handler that answers at once is
    // answered in this turn. Otherwise it waits its turn behind the others.
    if (live.queued > 1) {
      live.queue = live.queue.then(answer).catch(fail);
      return;
    }
    try {
      const pending = answer();
      if (pending !== undefined) live.queue = pending.catch(fail);
    } catch (error) {
      fail(error);
    }
  }

  /** Sends the answer to one request of `live` (`json`: its text), then lets a push stream it opened flow. */
  #answered(live: LiveSession, response: TE2EResponse, json: string): void {
    live.queued -= 1;
    const sent = this.#sendMessage(live, response, json);
    const id = response.kind === "result" || response.kind === "error" ? response.id : null;
    const stream = id === null ? undefined : live.streams.get(id);
    if (stream === undefined) return;
    // A push stream opened by this request flows only after its result went out. A request
    // answered with an error (its result too large included) takes its stream with it, but
    // never one an earlier request opened under the same id, which is flowing already.
    if (sent?.kind === "result") stream.start();
    else if (stream.pending) stream.stop("refused");
  }

  /** Seals and sends one message of `live`; what went out, if anything (outgoing-message.ts). Never throws. */
  #sendMessage(live: LiveSession, message: TE2EResponse, json?: string): TE2EResponse | undefined {
    return sendMessage(this.#outlet, live, message, json);
  }

  #sendClose(sessionId: string, reason: string): void {
    this.#o.send({ instanceId: this.#o.instanceId, sessionId, kind: "close", frame: toBase64Url(utf8(reason)) });
  }

  /** Closes one session: stops its timers, subscriptions and streams, wipes its keys, optionally tells the peer. */
  close(sessionId: string, reason: string, notify: boolean): void {
    const live = this.#sessions.get(sessionId);
    if (live === undefined) return;
    this.#sessions.delete(sessionId);
    if (live.expiryTimer !== undefined) this.#o.clock.clearTimeout(live.expiryTimer);
    live.expiryTimer = undefined;
    live.session.close();
    stopStreams(live, this.#o.clock, this.#o.logger);
    this.#o.logger.info("session closed", { sessionId, reason });
    this.#o.audit?.sessionClosed(live.grant, sessionId, reason, this.#o.clock.now() - live.openedAt);
    if (notify) this.#sendClose(sessionId, reason);
  }

  /**
   * Closes the sessions opened with a grant `grants.revoke` just revoked: the account's own
   * grants issued at or before `before`, and grants signed under its admin delegation if that
   * delegation was issued at or before `before` (what verification now refuses). Returns
   * how many were closed. Their peers are told `grant_revoked`; the session `later` is closed only
   * after the current tick, once its answer is out.
   */
  closeRevoked(accountId: string, before: number, options: { later?: string } = {}): number {
    let closed = 0;
    for (const live of [...this.#sessions.values()]) {
      if (!revokedBy(live.grant, accountId, before)) continue;
      closed += 1;
      // The session that asked (an admin revoking itself) gets its answer first.
      if (live.sessionId === options.later) setImmediate(() => this.#closeLive(live, "grant_revoked", true));
      else this.close(live.sessionId, "grant_revoked", true);
    }
    return closed;
  }

  /** Closes every session (disconnect, revocation, shutdown). Sessions do not survive a reconnect. */
  closeAll(reason: string): void {
    for (const id of [...this.#sessions.keys()]) this.close(id, reason, false);
  }
}

export { errorResponse };
