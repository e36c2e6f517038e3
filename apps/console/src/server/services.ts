import type { BlockList } from "node:net";
import { appendAudit, type AuditEventInput, type VeilDatabase } from "@veil/db";
import type { ServerSecrets } from "./auth/server-secrets";
import type { ConsoleConfig } from "./config";
import type { RateLimiter } from "./http/rate-limit";
import type { TSessionEnded } from "@veil/protocol";

export type Logger = (line: string) => void;

/** The long-lived things every handler may use, passed in (no module-level state). */
export interface ConsoleServices {
  readonly config: ConsoleConfig;
  readonly db: VeilDatabase;
  readonly secrets: ServerSecrets;
  readonly limiter: RateLimiter;
  readonly trustedProxies: BlockList;
  readonly log: Logger;
  /** The relay's frame budgets read time here (milliseconds; tests freeze it). Default `performance.now`. */
  readonly relayClock?: () => number;
  /** Ends the sockets of these sessions (set once socket.io is attached). */
  endSessionSockets: (sessionIds: readonly string[], reason: TSessionEnded["reason"]) => void;
}

/**
 * Appends to the hash-chained audit log. A failure to audit is logged and rethrown: an action
 * that cannot be audited does not silently succeed.
 */
export async function audit(services: ConsoleServices, event: AuditEventInput): Promise<void> {
  try {
    await appendAudit(services.db, event);
  } catch (error) {
    services.log(`audit append failed for ${event.action}: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  }
}
