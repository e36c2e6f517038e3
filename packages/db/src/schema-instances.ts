import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { bytea } from "./bytes";
import { users, type KdfParamsRecord, type Role } from "./schema";

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** An instance certificate as stored: the signed statement (opaque to the console) and its signer. */
export interface InstanceCertificateRecord {
  statement: { domain: string; body: unknown; signature: string };
  signerPublicKey: string;
}

/**
 * Instances (one per companion site). Like accounts, nothing here opens anything: the private
 * keys are wrapped under a key derived from the instance token, which the console never sees;
 * the token's auth key is stored only as its hash. The certificate is signed by the admin who
 * added the instance, and checked by the companion and by browsers, never by the console.
 */
export const instances = pgTable(
  "instances",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    /** The admin who added it (signed the certificate); null once that account is deleted. */
    adminUserId: uuid("admin_user_id").references(() => users.id, { onDelete: "set null" }),
    kdfParams: jsonb("kdf_params").$type<KdfParamsRecord>().notNull(),
    kdfSalt: bytea("kdf_salt").notNull(),
    /** Domain-separated SHA-256 of the token's auth key (same construction as users.auth_key_hash). */
    authKeyHash: bytea("auth_key_hash").notNull(),
    identityPublicKey: bytea("identity_public_key").notNull(),
    boxPublicKey: bytea("box_public_key").notNull(),
    /** Token-wrapped private keys (AEAD, AAD = instance id, purpose, public key): opaque here. */
    wrappedIdentityKey: bytea("wrapped_identity_key").notNull(),
    wrappedBoxKey: bytea("wrapped_box_key").notNull(),
    certificate: jsonb("certificate").$type<InstanceCertificateRecord>().notNull(),
    /** The certificate's signer (the admin's identity public key), for listing and safety codes. */
    signerPublicKey: bytea("signer_public_key").notNull(),
    createdAt: tz("created_at").notNull().defaultNow(),
    /** Last token rotation (null until the first). */
    rotatedAt: tz("rotated_at"),
    revokedAt: tz("revoked_at"),
    /** Presence: what the console may know (online, last seen, companion version, address). */
    online: boolean("online").notNull().default(false),
    lastSeenAt: tz("last_seen_at"),
    companionVersion: text("companion_version"),
    remoteAddress: text("remote_address"),
    /** socket.io id of the live companion socket: a disconnect only marks offline its own connection. */
    connectionId: text("connection_id"),
    enrolledAt: tz("enrolled_at"),
    /** Bumped on every rotation. */
    tokenVersion: bigint("token_version", { mode: "number" }).notNull().default(1),
  },
  (t) => [index("instances_admin_idx").on(t.adminUserId)],
);

/**
 * Grants: which account may open sessions with which instance. The signed bundle is opaque to
 * the console (the companion verifies it); role and expiry are copies for listing and for the
 * relay's coarse "may this browser address this instance" check.
 */
export const instanceGrants = pgTable(
  "instance_grants",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    instanceId: uuid("instance_id")
      .notNull()
      .references(() => instances.id, { onDelete: "cascade" }),
    accountId: uuid("account_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** ZGrantBundleSchema, as the admin's browser signed it. */
    bundle: jsonb("bundle").$type<Record<string, unknown>>().notNull(),
    /** Admin grants only: the signer's signed delegation for this admin's key (opaque here). */
    delegation: jsonb("delegation").$type<Record<string, unknown>>(),
    role: text("role").$type<Role>().notNull(),
    expiresAt: tz("expires_at").notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: tz("created_at").notNull().defaultNow(),
  },
  (t) => [
    unique("instance_grants_instance_account_key").on(t.instanceId, t.accountId),
    index("instance_grants_account_idx").on(t.accountId),
    check("instance_grants_role_check", sql`${t.role} in ('admin','operator','auditor','viewer')`),
  ],
);
