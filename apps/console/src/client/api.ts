/**
 * The browser's one door to the console API. Every request is JSON, carries the session token
 * in the `x-auth-token` header (never a cookie, so a cross-site page cannot ride on it), and
 * every response — success or error — is parsed with a @veil/protocol schema before use: a
 * console that answers with the wrong shape gets an ApiError("bad_response"), not trust.
 */
import { ZErrorBodySchema, type ErrorCode } from "@veil/protocol";
import type { z } from "zod";

/** Stable error codes from the console, plus the two the browser itself detects. */
export type ApiErrorCode = ErrorCode | "network" | "bad_response";

/** An API failure with the console's stable code and user-safe message. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Seconds to wait, from Retry-After on 429 (and 423/503 when sent). */
  readonly retryAfterSeconds: number | null;
  readonly issues: readonly { path: string; message: string }[];

  constructor(
    code: ApiErrorCode,
    message: string,
    options: {
      status?: number;
      retryable?: boolean;
      retryAfterSeconds?: number | null;
      issues?: readonly { path: string; message: string }[];
    } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = options.status ?? 0;
    this.retryable = options.retryable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
    this.issues = options.issues ?? [];
  }
}

interface ApiHooks {
  /** The current session token, or null. */
  getToken(): string | null;
  /** Called when an authenticated request learns the session is gone (expired, revoked). */
  onSessionEnded(code: ApiErrorCode): void;
}

let hooks: ApiHooks = { getToken: () => null, onSessionEnded: () => undefined };

/** Wires the session store in (called once by the store; keeps this module free of state). */
export function configureApi(next: ApiHooks): void {
  hooks = next;
}

/** Parses a Retry-After header (delta-seconds or HTTP date) into whole seconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

export interface RequestOptions<S extends z.ZodType> {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly schema: S;
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** Send the session token (default true). Public routes (prelogin, login, signup) pass false. */
  readonly auth?: boolean;
  readonly signal?: AbortSignal;
}

const SESSION_ENDED: ReadonlySet<ApiErrorCode> = new Set(["session_expired", "unauthenticated"]);
/** Idempotent reads are retried once when the console asks for a short wait. */
const AUTO_RETRY_MAX_SECONDS = 3;

async function readJson(res: Response): Promise<unknown> {
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) return undefined;
  try {
    return (await res.json()) as unknown;
  } catch {
    return undefined;
  }
}

function errorFrom(res: Response, json: unknown): ApiError {
  const retryAfterSeconds = parseRetryAfter(res.headers.get("retry-after"));
  const parsed = ZErrorBodySchema.safeParse(json);
  if (!parsed.success)
    return new ApiError("bad_response", `The console answered ${res.status} without a valid error body.`, {
      status: res.status,
      retryAfterSeconds,
    });
  const { code, message, retryable, issues } = parsed.data.error;
  const wait = code === "rate_limited" && retryAfterSeconds !== null ? ` Try again in ${retryAfterSeconds} s.` : "";
  return new ApiError(code, `${message}${wait}`, {
    status: res.status,
    retryable,
    retryAfterSeconds,
    issues: issues ?? [],
  });
}

/** One API call: JSON in, schema-checked JSON out, ApiError on any failure. */
export async function apiRequest<S extends z.ZodType>(options: RequestOptions<S>): Promise<z.output<S>> {
  const url = new URL(options.path, window.location.origin);
  for (const [k, v] of Object.entries(options.query ?? {}))
    if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: "application/json" };
  const useAuth = options.auth ?? true;
  if (useAuth) {
    const token = hooks.getToken();
    if (token === null) throw new ApiError("unauthenticated", "Sign in to continue.", { status: 401 });
    headers["x-auth-token"] = token;
  }
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.body);
  }

  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: options.method,
        headers,
        body: body ?? null,
        credentials: "omit",
        cache: "no-store",
        redirect: "error",
        referrerPolicy: "no-referrer",
        signal: options.signal ?? null,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new ApiError("network", "The console could not be reached. Check the connection and try again.", {
        retryable: true,
      });
    }
    const json = await readJson(res);
    if (res.ok) {
      const parsed = options.schema.safeParse(json);
      if (!parsed.success)
        throw new ApiError("bad_response", "The console sent an answer this page does not understand.", {
          status: res.status,
        });
      return parsed.data;
    }
    const error = errorFrom(res, json);
    if (
      error.code === "rate_limited" &&
      options.method === "GET" &&
      attempt === 0 &&
      error.retryAfterSeconds !== null &&
      error.retryAfterSeconds <= AUTO_RETRY_MAX_SECONDS
    ) {
      await new Promise((resolve) =>
        setTimeout(resolve, error.retryAfterSeconds === null ? 0 : error.retryAfterSeconds * 1000),
      );
      continue;
    }
    if (useAuth && SESSION_ENDED.has(error.code)) hooks.onSessionEnded(error.code);
    throw error;
  }
}

/** A user-facing sentence for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
