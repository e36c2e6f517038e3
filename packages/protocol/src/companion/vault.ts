import { z } from "zod";
import { ZIdSchema, type TRole } from "../fields";
import { ZMacSchema } from "../device/numbers";
import { ZDeviceJobStartResultSchema, ZDeviceLoginSchema, ZDeviceTargetSchema } from "./discovery";

/**
 * End-to-end requests of the credentials vault (issue 6). One vault per instance: an X25519
 * key pair made in the browser; the companion keeps the public key at rest and the private key
 * in memory only while unlocked. docs/COMPANION-VAULT.md.
 */

const ZEpochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ZCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ZKey32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be 32 bytes, base64url without padding");
const ZFingerprint = z.string().regex(/^[0-9a-f]{64}$/);
const ZUsername = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/);

/** Who an entry is for: one device (by MAC) or a named group. */
export const ZVaultTargetSchema = z.union([
  z.strictObject({ mac: ZMacSchema }),
  z.strictObject({
    group: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9 ._-]+$/),
  }),
]);
export type TVaultTarget = z.infer<typeof ZVaultTargetSchema>;

/** UTF-8 length of a string, as `TextEncoder` would encode it (a lone surrogate counts 3, as U+FFFD). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Most characters (= bytes: printable ASCII) of an SSH private key. */
export const MAX_VAULT_PRIVATE_KEY_BYTES = 16_384;
/** Most UTF-8 bytes of an entry's notes. */
export const MAX_VAULT_NOTES_BYTES = 4096;

/*
 * Why these bounds: the companion seals JSON{secret, notes} and refuses to load a vault.json whose
 * sealed blob passes 64,000 base64url characters (48,000 bytes), so what the schema accepts must
 * always seal below that, whatever JSON escaping does. JSON.stringify writes a quote, backslash,
 * tab or line break as two bytes, another control character or a lone surrogate as six (\u00XX),
 * and every other character as its UTF-8 bytes. Worst case, an SSH key entry:
 *
 *   private key  16,384 printable ASCII / tab / CR / LF bytes, all escaped (×2)   32,768
 *   passphrase      256 UTF-16 units, all control characters (×6)                 1,536
 *   notes         4,096 UTF-8 bytes, no control characters but tab/CR/LF (×2)     8,192
 *   user name        64 letters, digits, "._-" (never escaped)                         64
 *   field names and punctuation                                                      85
 *                                                                                 ------
 *                                                                                 42,645 bytes
 *
 * plus 177 bytes of sealing to one recipient = 42,822 bytes = 57,096 base64url characters. A
 * password entry is far smaller (a 128-unit password is at most 768 bytes). The companion also
 * checks every sealed length before writing; `apps/companion/test/vault.test.ts` seals these
 * worst cases. The private key is restricted to the characters key files are made of (PEM,
 * OpenSSH, PuTTY: printable ASCII and line breaks); notes may hold any text but control
 * characters other than tab and line breaks.
 */

/**
 * The secret of a new entry (`vault.put`): bounded by bytes so that it always seals within the
 * file's limit (above). Only ever inside a sealed blob, or in a `vault.reveal` answer. Entries
 * already stored are read with {@link ZVaultStoredSecretSchema}.
 */
export const ZVaultSecretSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("password"), username: ZUsername, password: z.string().min(1).max(128) }),
  z.strictObject({
    kind: z.literal("sshKey"),
    username: ZUsername,
    privateKey: z
      .string()
      .min(1)
      .max(MAX_VAULT_PRIVATE_KEY_BYTES)
      .regex(/^[\t\n\r\x20-\x7e]+$/, "must be the key file's text (printable ASCII and line breaks)"),
    passphrase: z.string().max(256).optional(),
  }),
]);
export type TVaultSecret = z.infer<typeof ZVaultSecretSchema>;

/**
 * The secret of a stored entry, read back from its sealed blob (and sent in `vault.reveal`): the
 * rules entries were written under before the byte bounds, any text up to 16,384 characters for
 * a private key. An entry an earlier version accepted (a PuTTY key whose comment has an accent,
 * an OpenSSH key saved with a byte order mark) must keep opening: its blob already fits the
 * file, and the strict rules are there only to keep new blobs within it.
 */
export const ZVaultStoredSecretSchema: z.ZodType<TVaultSecret> = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("password"), username: ZUsername, password: z.string().min(1).max(128) }),
  z.strictObject({
    kind: z.literal("sshKey"),
    username: ZUsername,
    privateKey: z.string().min(1).max(16_384),
    passphrase: z.string().max(256).optional(),
  }),
]);

/** Whether `s` holds a C0 control character other than tab, line feed and carriage return. */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
  }
  return false;
}

/** Notes of a new entry (sealed with the secret): any text but control characters, at most 4,096 UTF-8 bytes. */
export const ZVaultNotesSchema = z
  .string()
  .max(MAX_VAULT_NOTES_BYTES)
  .refine((s) => !hasControlCharacter(s), "must not hold control characters other than tab and line breaks")
  .refine((s) => utf8Length(s) <= MAX_VAULT_NOTES_BYTES, `must be at most ${MAX_VAULT_NOTES_BYTES} bytes of UTF-8`);

/** What is stored in clear beside the sealed blob (and bound into it as associated data). */
export const ZVaultEntryMetaSchema = z.strictObject({
  id: ZIdSchema,
  target: ZVaultTargetSchema,
  kind: z.enum(["password", "sshKey"]),
  label: z.string().max(128),
  createdAt: ZEpochMs,
  /** The device certificate (SHA-256) this credential may be sent to; absent for group entries. */
  certSha256: ZFingerprint.optional(),
  /** `pending`: written before being applied to the device (generation), not yet confirmed. */
  state: z.enum(["active", "pending", "superseded"]),
  origin: z.enum(["manual", "adoption", "generated"]),
});
export type TVaultEntryMeta = z.infer<typeof ZVaultEntryMetaSchema>;

/** `vault.status`. */
export const ZVaultStatusResultSchema = z.strictObject({
  initialized: z.boolean(),
  unlocked: z.boolean(),
  entries: ZCount,
  /** SHA-256 (hex) of the vault public key, to compare with the key file. */
  publicKeySha256: ZFingerprint.nullable(),
  /** When the vault locks itself if unused (null when locked). */
  autoLockAt: ZEpochMs.nullable(),
});

/** `vault.init` (admin): stores the vault's public key (made in the browser). Refused if one exists unless `replace`. */
export const ZVaultInitBodySchema = z.strictObject({ publicKey: ZKey32, replace: z.boolean().default(false) });
export const ZVaultInitResultSchema = z.strictObject({
  status: z.enum(["initialized", "exists"]),
  publicKeySha256: ZFingerprint,
});

/** `vault.unlock` (admin): the private key, unwrapped in the browser, end to end. Memory only. */
export const ZVaultUnlockBodySchema = z.strictObject({
  privateKey: ZKey32,
  idleMinutes: z.number().int().min(1).max(240).default(15),
});
export const ZVaultUnlockResultSchema = z.strictObject({
  status: z.enum(["unlocked", "wrong_key", "not_initialized"]),
  autoLockAt: ZEpochMs.nullable(),
});

export const ZVaultLockResultSchema = z.strictObject({ locked: z.literal(true) });

/** `vault.put` (operator+): seal a new entry (works while locked). */
export const ZVaultPutBodySchema = z.strictObject({
  target: ZVaultTargetSchema,
  label: z.string().max(128).default(""),
  secret: ZVaultSecretSchema,
  notes: ZVaultNotesSchema.optional(),
});
export const ZVaultPutResultSchema = z.discriminatedUnion("status", [
  z.strictObject({ status: z.literal("stored"), entry: ZVaultEntryMetaSchema }),
  z.strictObject({ status: z.literal("not_initialized") }),
]);

/** `vault.list` (operator+): metadata only. */
export const ZVaultListBodySchema = z.strictObject({
  mac: ZMacSchema.optional(),
  offset: z.number().int().min(0).max(1_000_000).default(0),
  limit: z.number().int().min(1).max(200).default(100),
});
export const ZVaultListResultSchema = z.strictObject({
  total: ZCount,
  entries: z.array(ZVaultEntryMetaSchema).max(200),
});

/** `vault.reveal` (operator+, after the browser's step-up): needs the unlocked vault. */
export const ZVaultRevealBodySchema = z.strictObject({ entryId: ZIdSchema });
export const ZVaultRevealResultSchema = z.discriminatedUnion("status", [
  z.strictObject({
    status: z.literal("ok"),
    entry: ZVaultEntryMetaSchema,
    secret: ZVaultStoredSecretSchema,
    notes: z.string().max(4096).optional(),
  }),
  z.strictObject({ status: z.enum(["locked", "not_found", "corrupt"]) }),
]);

/** `vault.delete` (admin). */
export const ZVaultDeleteBodySchema = z.strictObject({ entryId: ZIdSchema });
export const ZVaultDeleteResultSchema = z.strictObject({ deleted: z.boolean() });

/**
 * `vault.generate` (admin): a unique strong password per device, applied over pinned HTTPS and
 * sealed into the vault (works while locked). `login`: the current credentials (same for all
 * devices, used once); omitted: each device's active vault entry (needs the unlocked vault).
 */
export const ZVaultGenerateBodySchema = z.strictObject({
  devices: z.array(ZDeviceTargetSchema).min(1).max(1024),
  login: ZDeviceLoginSchema.optional(),
  /** New user name; default: the one logged in with. */
  username: ZUsername.optional(),
  length: z.number().int().min(16).max(64).default(24),
});
export const ZVaultGenerateResultSchema = ZDeviceJobStartResultSchema;

interface Spec {
  readonly minRole: TRole;
  readonly write: boolean;
  readonly body: z.ZodType;
  readonly result: z.ZodType;
}

const ZEmpty = z.strictObject({});

/** Vault requests, merged into REQUEST_CATALOGUE. */
export const VAULT_REQUEST_CATALOGUE = {
  "vault.status": { minRole: "operator", write: false, body: ZEmpty, result: ZVaultStatusResultSchema },
  "vault.init": { minRole: "admin", write: true, body: ZVaultInitBodySchema, result: ZVaultInitResultSchema },
  "vault.unlock": { minRole: "admin", write: true, body: ZVaultUnlockBodySchema, result: ZVaultUnlockResultSchema },
  "vault.lock": { minRole: "operator", write: true, body: ZEmpty, result: ZVaultLockResultSchema },
  "vault.put": { minRole: "operator", write: true, body: ZVaultPutBodySchema, result: ZVaultPutResultSchema },
  "vault.list": { minRole: "operator", write: false, body: ZVaultListBodySchema, result: ZVaultListResultSchema },
  "vault.reveal": { minRole: "operator", write: false, body: ZVaultRevealBodySchema, result: ZVaultRevealResultSchema },
  "vault.delete": { minRole: "admin", write: true, body: ZVaultDeleteBodySchema, result: ZVaultDeleteResultSchema },
  "vault.generate": {
    minRole: "admin",
    write: true,
    body: ZVaultGenerateBodySchema,
    result: ZVaultGenerateResultSchema,
  },
} as const satisfies Record<string, Spec>;
