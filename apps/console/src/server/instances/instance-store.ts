import { and, eq, getTableColumns, gt, isNull, sql } from "drizzle-orm";
import { instanceGrants, instances, type Role, type VeilDatabase } from "@veil/db";
import type { TInstanceCertificate, TInstanceSummary, TKdfParams } from "@veil/protocol";
import { b64u } from "../auth/bytes";

export type InstanceRow = typeof instances.$inferSelect;
export type GrantRow = typeof instanceGrants.$inferSelect;

/** The instance row, or undefined. */
export async function findInstance(db: VeilDatabase, id: string): Promise<InstanceRow | undefined> {
  const [row] = await db.select().from(instances).where(eq(instances.id, id));
  return row;
}

/** The caller's unexpired grant on an instance, or undefined. */
export async function findLiveGrant(
  db: VeilDatabase,
  instanceId: string,
  accountId: string,
): Promise<GrantRow | undefined> {
  const [row] = await db
    .select()
    .from(instanceGrants)
    .where(
      and(
        eq(instanceGrants.instanceId, instanceId),
        eq(instanceGrants.accountId, accountId),
        gt(instanceGrants.expiresAt, new Date()),
      ),
    );
  return row;
}

/**
 * What the caller may see of an instance: console admins see every instance (they manage them);
 * everyone else only instances they hold an unexpired grant for. Returns the caller's role on it,
 * or null when the instance must look absent (404, not 403: no existence oracle).
 */
export async function roleOnInstance(
  db: VeilDatabase,
  user: { id: string; role: Role },
  instance: InstanceRow,
): Promise<Role | null> {
  if (user.role === "admin") return "admin";
  const grant = await findLiveGrant(db, instance.id, user.id);
  return grant?.role ?? null;
}

/**
 * May this account open E2E sessions with the instance through the relay? Only with an
 * unexpired grant, or as the admin who added it; never once it is revoked. (The companion makes
 * the real decision from the signed grant; this stops the console relaying for strangers.)
 */
export async function mayAddressInstance(db: VeilDatabase, userId: string, instanceId: string): Promise<boolean> {
  const [row] = await db
    .select({ adminUserId: instances.adminUserId })
    .from(instances)
    .where(and(eq(instances.id, instanceId), isNull(instances.revokedAt)));
  if (!row) return false;
  if (row.adminUserId === userId) return true;
  return (await findLiveGrant(db, instanceId, userId)) !== undefined;
}

/** The wire form of the stored KDF params. */
export function instanceKdfWire(row: Pick<InstanceRow, "kdfParams" | "kdfSalt">): TKdfParams {
  const p = row.kdfParams;
  return {
    alg: "argon2id",
    memoryKiB: p.memoryKiB,
    iterations: p.iterations,
    parallelism: p.parallelism,
    salt: b64u(row.kdfSalt),
  };
}

/** The stored certificate in its wire form. */
export function certificateWire(row: Pick<InstanceRow, "certificate">): TInstanceCertificate {
  return row.certificate;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/**
 * A presence older than this is shown offline: live companions' last_seen_at is refreshed every
 * 30 s by the node holding their socket, so this only trips when that node died without saying.
 */
export const PRESENCE_STALE_MS = 90_000;

/** last_seen_at within PRESENCE_STALE_MS, on the database's clock (the one that writes it). */
export const presenceFresh = sql<boolean>`coalesce(${instances.lastSeenAt} > now() - make_interval(secs => ${PRESENCE_STALE_MS / 1000}), false)`;

/** An instance row as the list reads it: with whether its presence is fresh. */
export type ListedInstanceRow = InstanceRow & { presenceFresh: boolean };

/** Selects instance rows with {@link presenceFresh}; add `.where(…)` and `.orderBy(…)`. */
export function selectListedInstances(db: VeilDatabase) {
  return db.select({ ...getTableColumns(instances), presenceFresh }).from(instances);
}

/** An instance as listed to a browser: public material and presence only. */
export function instanceSummary(row: ListedInstanceRow, myRole: Role | null): TInstanceSummary {
  return {
    id: row.id,
    name: row.name,
    adminUserId: row.adminUserId,
    identityPublicKey: b64u(row.identityPublicKey),
    boxPublicKey: b64u(row.boxPublicKey),
    certificate: certificateWire(row),
    createdAt: row.createdAt.toISOString(),
    enrolledAt: iso(row.enrolledAt),
    rotatedAt: iso(row.rotatedAt),
    revokedAt: iso(row.revokedAt),
    presence: {
      online: row.online && !row.revokedAt && row.presenceFresh,
      lastSeenAt: iso(row.lastSeenAt),
      companionVersion: row.companionVersion,
      address: row.remoteAddress,
    },
    myRole,
  };
}

/**
 * A companion connected with this socket id: the instance is online, with its address and
 * version, and the row names this connection. Returns the row's revocation (empty when gone).
 */
export async function recordPresence(
  db: VeilDatabase,
  instanceId: string,
  c: { ip: string; companionVersion: string; connectionId: string },
): Promise<{ revokedAt: Date | null }[]> {
  return db
    .update(instances)
    .set({
      online: true,
      // The database's clock: nodes compare against it (other-node-relay.ts), not their own.
      lastSeenAt: sql`now()`,
      companionVersion: c.companionVersion,
      remoteAddress: c.ip,
      connectionId: c.connectionId,
      enrolledAt: sql`coalesce(${instances.enrolledAt}, now())`,
    })
    .where(eq(instances.id, instanceId))
    .returning({ revokedAt: instances.revokedAt });
}

/** The connection the instance's presence names now (null when offline). */
export async function presenceConnectionId(db: VeilDatabase, instanceId: string): Promise<string | null | undefined> {
  const [row] = await db
    .select({ connectionId: instances.connectionId })
    .from(instances)
    .where(eq(instances.id, instanceId));
  return row?.connectionId;
}

/** That connection went: offline, unless a newer connection's presence was written since. */
export async function recordOffline(db: VeilDatabase, instanceId: string, connectionId: string): Promise<void> {
  await db
    .update(instances)
    .set({ online: false, lastSeenAt: sql`now()`, connectionId: null })
    .where(and(eq(instances.id, instanceId), eq(instances.connectionId, connectionId)));
}
