import { and, eq, inArray, isNotNull } from "drizzle-orm";
import { instances } from "@veil/db";
import type { ConsoleServices } from "../services";

/** Every this many sweeps (of 2 s by default), live companions' last_seen_at is refreshed (see PRESENCE_STALE_MS). */
const HEARTBEAT_EVERY_SWEEPS = 15;

/**
 * What a node runs while companions are connected to it: every `revocationSweepMs` (2 s; the
 * promise is a revoked companion gone within 5 s) it looks up which of them were revoked through
 * another node, in case that node's `node:revoke` event was lost, and has them revoked; and every
 * HEARTBEAT_EVERY_SWEEPS sweeps it refreshes their presence. It stops by itself once none is
 * connected.
 */
export class PresenceSweep {
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly services: ConsoleServices,
    /** The instances whose companions are connected to this node. */
    private readonly connected: () => string[],
    private readonly revoke: (instanceId: string) => void,
  ) {}

  start(): void {
    if (this.#timer) return;
    let ticks = 0;
    this.#timer = setInterval(() => {
      const ids = this.connected();
      if (ids.length === 0) return this.stop();
      ticks += 1;
      if (ticks % HEARTBEAT_EVERY_SWEEPS === 0) {
        // A node that dies cannot mark its companions offline: listings treat a presence not
        // refreshed for PRESENCE_STALE_MS as offline.
        void this.services.db
          .update(instances)
          .set({ lastSeenAt: new Date() })
          .where(and(inArray(instances.id, ids), eq(instances.online, true)))
          .catch(this.#logFailure("companion heartbeat"));
      }
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
    this.#timer = null;
  }

  #logFailure(what: string): (error: unknown) => void {
    return (error) => this.services.log(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
