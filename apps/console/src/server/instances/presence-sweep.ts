import { and, eq, inArray, isNotNull, sql } from "drizzle-orm";
import { instances } from "@veil/db";
import type { ConsoleServices } from "../services";
import { PRESENCE_STALE_MS } from "./instance-store";

/**
 * How often live companions' last_seen_at is refreshed: a third of PRESENCE_STALE_MS, on a timer
 * of its own, so no sweep interval can let a healthy companion look gone.
 */
export const HEARTBEAT_MS = PRESENCE_STALE_MS / 3;

/**
 * What a node runs while companions are connected to it: every `revocationSweepMs` (2 s; the
 * promise is a revoked companion gone within 5 s) it looks up which of them were revoked through
 * another node, in case that node's `node:revoke` event was lost, and has them revoked; and every
 * HEARTBEAT_MS it refreshes their presence. It stops by itself once none is
 * connected.
 */
export class PresenceSweep {
  #timer: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly services: ConsoleServices,
    /** The instances whose companions are connected to this node. */
    private readonly connected: () => string[],
    private readonly revoke: (instanceId: string) => void,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#heartbeat = setInterval(() => {
      const ids = this.connected();
      if (ids.length === 0) return;
      // A node that dies cannot mark its companions offline: a presence not refreshed for
      // PRESENCE_STALE_MS counts as offline. The database's clock, as every presence write and
      // check uses, so nodes' clocks need not agree.
      void this.services.db
        .update(instances)
        .set({ lastSeenAt: sql`now()` })
        .where(and(inArray(instances.id, ids), eq(instances.online, true)))
        .catch(this.#logFailure("companion heartbeat"));
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
    this.#timer = setInterval(() => {
      const ids = this.connected();
      if (ids.length === 0) return this.stop();
      void this.services.db
        .select({ id: instances.id })
        .from(instances)
        .where(and(inArray(instances.id, ids), isNotNull(instances.revokedAt)))
        .then((rows) => rows.forEach((r) => this.revoke(r.id)))
        .catch(this.#logFailure("companion revocation sweep"));
    }, this.services.config.revocationSweepMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#timer = null;
    this.#heartbeat = null;
  }

  #logFailure(what: string): (error: unknown) => void {
    return (error) => this.services.log(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
