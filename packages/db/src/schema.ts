import { sql } from "drizzle-orm";
import { bigint, check, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { bytea } from "./bytes";

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** Roles, least to most privileged for reading: viewer < auditor, operator < admin. */
export const ROLES = ["admin", "operator", "auditor", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/**
 * Accounts. Everything secret here is either a hash (auth key), wrapped by a key that only the
 * browser can derive (private keys), or encrypted with the server key (TOTP secret, which the
 * server must read to check codes). Never a password, an auth key or an unwrapped private key.
 */
export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey(),
    /** Lower-cased, trimmed. */
    email: text("email").notNull().unique(),
    role: text("role").$type<Role>().notNull(),
    /** Argon2id parameters chosen by the browser (the wire form of @veil/protocol ZKdfParamsSchema minus the salt). */
    kdfParams: jsonb("kdf_params").$type<KdfParamsRecord>().notNull(),
    kdfSalt: bytea("kdf_salt").notNull(),
    /** Domain-separated SHA-256 of the auth key (see console src/server/auth/auth-key.ts). */
    authKeyHash: bytea("auth_key_hash").notNull(),
    identityPublicKey: bytea("identity_public_key").notNull(),
    boxPublicKey: bytea("box_public_key").notNull(),
    /** The box public key signed by the identity key (opaque to the server). */
    boxKeyCertificate: bytea("box_key_certificate").notNull(),
    wrappedIdentityKey: bytea("wrapped_identity_key").notNull(),
    wrappedBoxKey: bytea("wrapped_box_key").notNull(),
    recoverySalt: bytea("recovery_salt"),
    recoveryWrappedIdentityKey: bytea("recovery_wrapped_identity_key"),
    recoveryWrappedBoxKey: bytea("recovery_wrapped_box_key"),
    /** Hash of the recovery code's auth key (same construction as authKeyHash); lets a lost-password recovery prove the kit. */
    recoveryAuthKeyHash: bytea("recovery_auth_key_hash"),
    /** AES-256-GCM under the server key, AAD = user id; null when 2FA is off. */
    totpSecretEnc: bytea("totp_secret_enc"),
    /** Secret being set up but not yet confirmed. */
    totpPendingEnc: bytea("totp_pending_enc"),
    totpEnabledAt: tz("totp_enabled_at"),
    /** Last accepted TOTP time step: a code is accepted once (RFC 6238 §5.2). */
    totpLastStep: bigint("totp_last_step", { mode: "number" }).notNull().default(0),
    idleTimeoutSeconds: integer("idle_timeout_seconds").notNull(),
    /** Bumped on password change; lets clients notice re-wrapped keys. */
    keysVersion: integer("keys_version").notNull().default(1),
    createdAt: tz("created_at").notNull().defaultNow(),
    updatedAt: tz("updated_at").notNull().defaultNow(),
  },
  (t) => [check("users_role_check", sql`${t.role} in ('admin','operator','auditor','viewer')`)],
);

export interface KdfParamsRecord {
  alg: "argon2id";
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/** Sessions: only the SHA-256 of the 256-bit token is stored (and the tab vault share, see below). */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tokenHash: bytea("token_hash").notNull().unique(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: tz("created_at").notNull().defaultNow(),
    lastSeenAt: tz("last_seen_at").notNull().defaultNow(),
    /** Absolute cap: never extended. */
    expiresAt: tz("expires_at").notNull(),
    idleTimeoutSeconds: integer("idle_timeout_seconds").notNull(),
    /** Last fresh proof of the auth key (step-up re-authentication). */
    stepUpAt: tz("step_up_at"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    revokedAt: tz("revoked_at"),
    /**
     * The console's half of the browser tab vault's key (32 random bytes, base64url), served
     * only to the live session in GET /api/me. Alone it opens nothing (the tab's sealed keys and
     * IndexedDB key stay in the browser); without it those leftovers open nothing. Cleared when
     * the session ends: a trigger (migration 0006) clears it whenever revoked_at is set, and
     * expired sessions are cleared on their next use and by pruneLoginState. Null also for
     * sessions issued before it existed (their tabs ask for the password on reload).
     */
    tabVaultShare: text("tab_vault_share"),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

/** Short-lived second-factor challenges issued after a correct auth key. */
export const loginChallenges = pgTable("login_challenges", {
  id: uuid("id").primaryKey().defaultRandom(),
  /** "login": waits for a second factor; "recovery": a proven recovery kit waits for the new password. */
  purpose: text("purpose").$type<"login" | "recovery">().notNull().default("login"),
  challengeHash: bytea("challenge_hash").notNull().unique(),
  userId: uuid("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  createdAt: tz("created_at").notNull().defaultNow(),
  expiresAt: tz("expires_at").notNull(),
  attempts: integer("attempts").notNull().default(0),
  usedAt: tz("used_at"),
  ip: text("ip"),
  userAgent: text("user_agent"),
});

/** 2FA backup codes: Argon2id-encoded hashes; single use via a conditional UPDATE. */
export const backupCodes = pgTable(
  "backup_codes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    createdAt: tz("created_at").notNull().defaultNow(),
    usedAt: tz("used_at"),
  },
  (t) => [index("backup_codes_user_idx").on(t.userId)],
);

/**
 * Append-only audit log with a hash chain: hash = SHA-256(prev_hash || canonical(row)).
 * UPDATE is refused by a trigger; DELETE only happens in retention clean-up, which moves the
 * anchor in audit_head so the remaining chain stays verifiable.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    seq: bigint("seq", { mode: "number" }).primaryKey(),
    at: tz("at").notNull(),
    actorUserId: uuid("actor_user_id"),
    actorEmail: text("actor_email"),
    action: text("action").notNull(),
    outcome: text("outcome").$type<"success" | "failure" | "denied">().notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    ip: text("ip"),
    details: jsonb("details").$type<Record<string, unknown>>().notNull(),
    prevHash: bytea("prev_hash").notNull(),
    hash: bytea("hash").notNull(),
  },
  (t) => [
    index("audit_at_idx").on(t.at),
    index("audit_action_idx").on(t.action),
    index("audit_actor_idx").on(t.actorUserId),
  ],
);

/** One row (id = 1): the chain head and the retention anchor. Locked FOR UPDATE on append. */
export const auditHead = pgTable("audit_head", {
  id: integer("id").primaryKey(),
  lastSeq: bigint("last_seq", { mode: "number" }).notNull(),
  lastHash: bytea("last_hash").notNull(),
  /** Seq and hash of the newest row removed by retention (0 and zeros when none). */
  anchorSeq: bigint("anchor_seq", { mode: "number" }).notNull(),
  anchorHash: bytea("anchor_hash").notNull(),
  anchorAt: tz("anchor_at"),
});

/** Console-wide settings (JSON values validated by the console). */
export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
  updatedAt: tz("updated_at").notNull().defaultNow(),
  updatedBy: uuid("updated_by"),
});

/** Invitations: only the token hash is stored. */
export const invites = pgTable(
  "invites",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tokenHash: bytea("token_hash").notNull().unique(),
    email: text("email"),
    role: text("role").$type<Role>().notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: tz("created_at").notNull().defaultNow(),
    expiresAt: tz("expires_at").notNull(),
    usedAt: tz("used_at"),
    usedBy: uuid("used_by"),
  },
  (t) => [check("invites_role_check", sql`${t.role} in ('admin','operator','auditor','viewer')`)],
);

/**
 * Brute-force lock-out per account key (normalised e-mail, whether or not the account exists,
 * so lock-out does not reveal which e-mails have accounts).
 */
export const accountLockouts = pgTable("account_lockouts", {
  accountKey: text("account_key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStart: tz("window_start").notNull(),
  lockedUntil: tz("locked_until"),
});

export * from "./schema-instances";
export * from "./schema-snapshots";
