import type { VerifiedGrant } from "../grants/verify-grant";

/** What a request handler may use: who asked, the time, and the session's subscriptions. */
export interface RequestContext {
  readonly instanceId: string;
  readonly grant: VerifiedGrant;
  readonly requestId: string;
  now(): number;
  /**
   * Starts a stream of `type` events every `intervalMs`, named by the request id; returns that
   * id. A tick whose `produce` returns undefined sends nothing.
   */
  subscribe(options: { intervalMs: number; type: string; produce: () => unknown }): string;
  /** Ends one of this session's subscriptions; false when there was none. */
  cancelSubscription(subscriptionId: string): boolean;
}

/** Runs one request type; returns its result (validated against the catalogue before sending). */
export type RequestHandler = (body: unknown, context: RequestContext) => unknown;
