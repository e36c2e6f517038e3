import { and, desc, eq, lt } from "drizzle-orm";
import { instances, instanceSnapshots, SNAPSHOTS_KEPT_PER_INSTANCE, type VeilDatabase } from "@veil/db";

export type SnapshotRow = typeof instanceSnapshots.$inferSelect;

/** Why a complete upload was not stored. */
export type StoreSnapshotOutcome = "stored" | "stale" | "revoked";

/**
 * Stores a sealed snapshot if its sequence is above every stored one for the instance (a
 * replayed or older upload is `stale`), then deletes all but the newest
 * SNAPSHOTS_KEPT_PER_INSTANCE. One transaction that first locks the instance row and refuses a
 * revoked (or deleted) instance, so an upload finishing on another node as the instance is
 * revoked cannot leave a row behind the revocation's delete; the unique (instance, sequence)
 * constraint settles two racing uploads.
 */
export async function storeSnapshot(
  db: VeilDatabase,
  instanceId: string,
  sequence: number,
  sealed: Uint8Array,
): Promise<StoreSnapshotOutcome> {
  return db.transaction(async (tx) => {
    const [instance] = await tx
      .select({ revokedAt: instances.revokedAt })
      .from(instances)
      .where(eq(instances.id, instanceId))
      .for("update");
    if (instance === undefined || instance.revokedAt !== null) return "revoked";
    const newest = await tx
      .select({ sequence: instanceSnapshots.sequence })
      .from(instanceSnapshots)
      .where(eq(instanceSnapshots.instanceId, instanceId))
      .orderBy(desc(instanceSnapshots.sequence))
      .limit(SNAPSHOTS_KEPT_PER_INSTANCE);
    if (newest[0] !== undefined && newest[0].sequence >= sequence) return "stale";
    await tx.insert(instanceSnapshots).values({ instanceId, sequence, sealed, sizeBytes: sealed.length });
    // The new row plus the newest (kept - 1) of the old ones stay.
    const cutoff = newest[SNAPSHOTS_KEPT_PER_INSTANCE - 2];
    if (cutoff !== undefined)
      await tx
        .delete(instanceSnapshots)
        .where(and(eq(instanceSnapshots.instanceId, instanceId), lt(instanceSnapshots.sequence, cutoff.sequence)));
    return "stored";
  });
}

/** The newest stored snapshot of an instance, or undefined. */
export async function latestSnapshot(db: VeilDatabase, instanceId: string): Promise<SnapshotRow | undefined> {
  const [row] = await db
    .select()
    .from(instanceSnapshots)
    .where(eq(instanceSnapshots.instanceId, instanceId))
    .orderBy(desc(instanceSnapshots.sequence))
    .limit(1);
  return row;
}

/** Deletes every snapshot of an instance (revocation); returns how many. */
export async function deleteSnapshots(db: VeilDatabase, instanceId: string): Promise<number> {
  const gone = await db
    .delete(instanceSnapshots)
    .where(eq(instanceSnapshots.instanceId, instanceId))
    .returning({ id: instanceSnapshots.id });
  return gone.length;
}
