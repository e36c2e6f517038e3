import {
  MAX_REQUEST_TTL_MS,
  REQUEST_CATALOGUE,
  parseE2ERequest,
  roleAllows,
  type TE2EError,
  type TE2EResponse,
  type TRequestType,
} from "../protocol";
import type { VerifiedGrant } from "../grants/verify-grant";
import type { Logger } from "../log";
import type { AuditRecorder } from "../audit/record-request";
import type { ReplayCache } from "./replay-cache";
import type { RequestContext, RequestHandler } from "./request-context";

const MESSAGES: Record<TE2EError["code"], string> = {
  bad_request: "The request is malformed.",
  unknown_type: "The companion does not know this request type.",
  forbidden: "Your role on this instance does not allow this request.",
  expired: "The request expired before it arrived.",
  duplicate: "A request with this id is already running.",
  too_many_subscriptions: "Too many live subscriptions on this session.",
  rate_limited: "Too many requests. Slow down and try again.",
  unavailable: "The companion cannot do this right now.",
  internal: "The companion failed to run the request.",
};
const RETRYABLE = new Set<TE2EError["code"]>(["rate_limited", "unavailable", "internal"]);

/** A typed error response; `message` (user-safe, from a RequestRefusedError) replaces the stock sentence. */
export function errorResponse(id: string | null, code: TE2EError["code"], message?: string): TE2EResponse {
  return { kind: "error", id, error: { code, message: message ?? MESSAGES[code], retryable: RETRYABLE.has(code) } };
}

/** Everything one request needs from its session. */
export interface DispatchContext {
  grant: VerifiedGrant;
  instanceId: string;
  now: () => number;
  cache: ReplayCache;
  handlers: Record<TRequestType, RequestHandler>;
  logger: Logger;
  sessionId: string;
  makeContext(requestId: string): RequestContext;
  /** The audit log: every dispatched message is recorded, whatever its outcome. */
  audit?: AuditRecorder;
}

function isRequestType(type: string): type is TRequestType {
  return Object.hasOwn(REQUEST_CATALOGUE, type);
}

/** A value now, or the promise of one: a request whose handler answers at once is answered in the same turn. */
export type MaybePromise<T> = T | Promise<T>;

/** Whether a handler's value is a promise (anything with a `then`) rather than the answer itself. */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** `f(value)` now, or once the promise settles. */
function then<T, U>(value: MaybePromise<T>, f: (value: T) => U): MaybePromise<U> {
  return isPromise(value) ? value.then(f) : f(value);
}

/** What one dispatch learned on its way, for the records written once its answer is out. */
interface Trace {
  /** The answer came from the replay record (or the id was already done). */
  repeated: boolean;
  /** The request this dispatch claimed and ran: its replay record is completed with the response. */
  claimed: { id: string; type: string } | undefined;
}

/**
 * Runs one decrypted message: parse, expiry (refuse expired and too-far-future), at-most-once
 * claim, catalogue lookup, role check against the verified grant (the companion enforces roles
 * whatever the console allowed), body parse, handler, result check. Hands exactly one typed
 * response to `answer`, at once unless the handler returned a promise; the handler runs at most
 * once per (account, id).
 *
 * The answer goes first and the records right after it, in the same turn, so no other message
 * is read in between: the replay record of a claimed request gets its response, and every
 * outcome (run, refused, malformed, repeated) goes into the audit log, even when `answer` throws.
 */
export function dispatchRequest(
  raw: unknown,
  ctx: DispatchContext,
  answer: (response: TE2EResponse, json: string) => void,
): MaybePromise<void> {
  const startedAt = ctx.now();
  const trace: Trace = { repeated: false, claimed: undefined };
  return then(dispatchOnce(raw, ctx, trace), (response) => {
    const durationMs = ctx.now() - startedAt;
    // Serialized once: `answer` sends this text, and the replay record is sized by it.
    let json: string | undefined;
    try {
      json = JSON.stringify(response);
      answer(response, json);
    } finally {
      const claimed = trace.claimed;
      if (claimed)
        ctx.cache.complete(ctx.grant.accountId, claimed.id, response, keptSize(claimed.type, response, json));
      ctx.audit?.request({
        grant: ctx.grant,
        sessionId: ctx.sessionId,
        raw,
        response,
        repeated: trace.repeated,
        durationMs,
      });
    }
  });
}

function dispatchOnce(raw: unknown, ctx: DispatchContext, trace: Trace): MaybePromise<TE2EResponse> {
  const req = parseE2ERequest(raw);
  if (!req) return errorResponse(null, "bad_request");
  const now = ctx.now();
  const log = { sessionId: ctx.sessionId, requestId: req.id, type: req.type, role: ctx.grant.role };
  if (req.expiresAt <= now) {
    ctx.logger.warn("request refused", { ...log, code: "expired" });
    return errorResponse(req.id, "expired");
  }
  if (req.expiresAt > now + MAX_REQUEST_TTL_MS) return errorResponse(req.id, "bad_request");
  // The role is checked before anything else is answered, repeats included: a grant changed
  // since the first run does not read that run's record.
  if (isRequestType(req.type) && !roleAllows(ctx.grant.role, REQUEST_CATALOGUE[req.type])) {
    ctx.logger.warn("request refused", { ...log, code: "forbidden" });
    return errorResponse(req.id, "forbidden");
  }
  const claim = ctx.cache.claim(ctx.grant.accountId, req.id, req.expiresAt, now);
  if (claim === "running" || claim === "done") {
    if (claim === "done") trace.repeated = true;
    return errorResponse(req.id, "duplicate");
  }
  if (claim === "full") return errorResponse(req.id, "rate_limited");
  if (claim !== "new") {
    trace.repeated = true;
    ctx.logger.info("request repeated: answering from the record", log);
    return claim;
  }
  trace.claimed = { id: req.id, type: req.type };
  return run(req.id, req.type, req.body, ctx, log);
}

/** Largest read answer (JSON characters of the whole answer) the replay record keeps. */
const MAX_KEPT_READ_CHARS = 4096;

/**
 * What a repeat may be answered with: the size of the response to keep (its JSON characters, as
 * sent), or null to keep none. Writes keep theirs (the outcome must not be lost), reads only when
 * small (a read's answer can be a 60 KB page; a repeat of a big one is answered `duplicate`), and
 * vault answers never: a revealed secret must not outlive its message in memory, even after the
 * vault locks.
 */
function keptSize(type: string, response: TE2EResponse, json: string | undefined): number | null {
  if (type.startsWith("vault.")) return null;
  const chars = (json ?? JSON.stringify(response)).length;
  const write = isRequestType(type) && REQUEST_CATALOGUE[type].write;
  return write || chars <= MAX_KEPT_READ_CHARS ? chars : null;
}

function run(
  id: string,
  type: string,
  body: unknown,
  ctx: DispatchContext,
  log: Record<string, string>,
): MaybePromise<TE2EResponse> {
  if (!isRequestType(type)) return errorResponse(id, "unknown_type");
  const spec = REQUEST_CATALOGUE[type];
  if (!roleAllows(ctx.grant.role, spec)) {
    ctx.logger.warn("request refused", { ...log, code: "forbidden" });
    return errorResponse(id, "forbidden");
  }
  const input = spec.body.safeParse(body);
  if (!input.success) return errorResponse(id, "bad_request");
  const failed = (error: unknown): TE2EResponse => {
    const code =
      error instanceof SubscriptionLimitError
        ? "too_many_subscriptions"
        : error instanceof RequestRefusedError
          ? error.code
          : "internal";
    ctx.logger.error("request failed", { ...log, code, error: error instanceof Error ? error.name : "unknown" });
    return errorResponse(id, code, error instanceof RequestRefusedError ? error.userMessage : undefined);
  };
  const checked = (result: unknown): TE2EResponse => {
    const parsed = spec.result.safeParse(result);
    if (!parsed.success) {
      ctx.logger.error("request produced an invalid result", log);
      return errorResponse(id, "internal");
    }
    ctx.logger.debug("request executed", log);
    return { kind: "result", id, type, body: parsed.data };
  };
  let result: unknown;
  try {
    result = ctx.handlers[type](input.data, ctx.makeContext(id));
  } catch (error) {
    return failed(error);
  }
  return isPromise(result) ? result.then(checked, failed) : checked(result);
}

/** Thrown by `subscribe` when a session already has its maximum of live subscriptions. */
export class SubscriptionLimitError extends Error {
  constructor() {
    super("too many subscriptions");
    this.name = "SubscriptionLimitError";
  }
}

/** Thrown by a handler to answer with a typed error code (e.g. `unavailable`, `bad_request`) and, optionally, a user-safe sentence saying why. */
export class RequestRefusedError extends Error {
  constructor(
    readonly code: TE2EError["code"],
    readonly userMessage?: string,
  ) {
    super(code);
    this.name = "RequestRefusedError";
  }
}
