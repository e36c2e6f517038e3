import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import type { Role } from "@veil/db";
import type { SessionRow, UserRow } from "../auth/sessions";
import type { RateClass } from "../config";
import type { ConsoleServices } from "../services";

/** What a handler gets: validated input, the caller, and the services. */
export interface ApiContext<B, Q> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly services: ConsoleServices;
  readonly ip: string;
  readonly userAgent: string | null;
  readonly params: Readonly<Record<string, string>>;
  readonly body: B;
  readonly query: Q;
  /** Present on routes with auth "session". */
  readonly auth: { readonly session: SessionRow; readonly user: UserRow } | null;
}

export interface ApiResult {
  readonly status?: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface Route<B = unknown, Q = unknown> {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path with `:name` segments, e.g. /api/sessions/:id */
  readonly path: string;
  readonly rate: RateClass;
  readonly auth: "public" | "session";
  /** Roles allowed (session routes); absent = every role. */
  readonly roles?: readonly Role[];
  /** Requires a fresh auth-key proof (POST /api/account/step-up) within the step-up window. */
  readonly stepUp?: boolean;
  readonly body?: z.ZodType<B>;
  readonly query?: z.ZodType<Q>;
  readonly bodyLimit?: number;
  /**
   * Per-account rate-limit key for public routes (e.g. the e-mail being logged into). May look
   * the account up (the 2FA route keys by the challenge's user, so that a new challenge does not
   * bring a new budget).
   */
  readonly rateAccount?: (body: B, services: ConsoleServices) => string | undefined | Promise<string | undefined>;
  readonly handler: (ctx: ApiContext<B, Q>) => Promise<ApiResult>;
}

/** A route with its input types erased, for the route table (inputs are parsed by its schemas). */
export type AnyRoute = Route<unknown, unknown>;

/** Type-checks a handler against its schemas, then erases the types for the table. */
export function defineRoute<B = unknown, Q = unknown>(route: Route<B, Q>): AnyRoute {
  return route as unknown as AnyRoute;
}

/** An authenticated context (narrowed for session routes). */
export function requireAuth<B, Q>(ctx: ApiContext<B, Q>): { session: SessionRow; user: UserRow } {
  if (!ctx.auth) throw new Error("route declared auth: session but ran without a session");
  return ctx.auth;
}
