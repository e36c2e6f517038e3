import { bigint, integer, pgTable, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { bytea } from "./bytes";
import { instances } from "./schema-instances";

/** How many snapshots the console keeps per instance: the newest few, older ones are deleted on upload. */
export const SNAPSHOTS_KEPT_PER_INSTANCE = 3;

/**
 * Last-known inventory snapshots (docs/COMPANION-DEVICES.md, "Last-known snapshots"). The
 * companion seals each one to the instance's current grantees and signs it with the instance
 * identity key; the console stores the sealed bytes as they came, with the companion's sequence
 * number, the size and the time it arrived. It cannot open them: no key it holds is a recipient.
 * Revoking an instance deletes its rows; deleting it cascades.
 */
export const instanceSnapshots = pgTable(
  "instance_snapshots",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    instanceId: uuid("instance_id")
      .notNull()
      .references(() => instances.id, { onDelete: "cascade" }),
    /** The companion's monotonic sequence number (also bound into the sealed box's AAD). */
    sequence: bigint("sequence", { mode: "number" }).notNull(),
    /** The sealed box (@veil/crypto `seal`, signed by the instance): opaque here. */
    sealed: bytea("sealed").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  // The unique constraint's index also serves "newest of this instance" and the pruning.
  (t) => [unique("instance_snapshots_instance_sequence_key").on(t.instanceId, t.sequence)],
);
