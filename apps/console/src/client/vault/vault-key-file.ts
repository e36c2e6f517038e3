/**
 * The vault key file (issue 6): the instance vault's X25519 private key wrapped under a generated
 * master password through Argon2id (the console's KDF worker) and @veil/crypto's key wrapping.
 * It is made and opened only in this browser; the companion gets the public key at creation and
 * the raw private key end to end at unlock, the console never sees either.
 *
 * Wrap context: owner = instance id, purpose `vault-private-key`, bound public key. A key file
 * for another instance, another public key or with a flipped byte fails to open (one
 * DecryptError), so a wrong password and a tampered file are both refused before anything is
 * sent. The Argon2id salt binds kind `password` and the context `veil-vault:<instance id>`, so
 * the vault password never shares a salt with an account password.
 */
import {
  WRAP_PURPOSES,
  boxKeyPairFromPrivateKey,
  boxPrivateKey,
  constantTimeEqual,
  fromBase64Url,
  generateBoxKeyPair,
  getPrimitives,
  toBase64Url,
  toHex,
  unwrapKey,
  wipe,
  wrapKey,
  wrappedKey,
} from "@veil/crypto";
import { ZIdSchema, ZKdfParamsSchema, ZPublicKeySchema, zB64u } from "@veil/protocol";
import { z } from "zod";
import { deriveInWorker } from "../derive-keys";
import { checkServedParams, describeCost, freshParams, paramsToWire } from "../kdf-params";
import { generateRecoveryCode, normalizeRecoveryCode } from "../recovery-kit";

/** Largest key file this page reads (a real one is about 600 bytes). */
export const MAX_KEY_FILE_BYTES = 16 * 1024;

/** The key file's JSON. Parsed with this schema before anything else is looked at. */
export const ZVaultKeyFileSchema = z.strictObject({
  format: z.literal("veil-vault-key"),
  version: z.literal(1),
  instanceId: ZIdSchema,
  kdf: ZKdfParamsSchema.strict(),
  publicKey: ZPublicKeySchema,
  /** @veil/crypto envelope (XChaCha20-Poly1305) of the 32-byte private key, base64url. */
  wrappedKey: zB64u({ maxBytes: 256 }),
  createdAt: z.iso.datetime(),
});
export type TVaultKeyFile = z.infer<typeof ZVaultKeyFileSchema>;

/** Why a key file did not open; `message` is shown as is. Nothing was sent in any of these cases. */
export class VaultKeyFileError extends Error {
  constructor(
    readonly code: "malformed" | "other_instance" | "other_vault" | "weak_params" | "wrong_password_or_tampered",
    message: string,
  ) {
    super(message);
    this.name = "VaultKeyFileError";
  }
}

const kdfContext = (instanceId: string): string => `veil-vault:${instanceId.toLowerCase()}`;
const wrapContext = (instanceId: string, publicKey: Uint8Array) => ({
  ownerId: instanceId.toLowerCase(),
  purpose: WRAP_PURPOSES.vaultPrivateKey,
  publicKey,
});

/** SHA-256 (hex) of a public key, as `vault.status` reports it. */
export function publicKeySha256(publicKey: Uint8Array): string {
  return toHex(getPrimitives().sha256(publicKey));
}

/** A new vault: the key file to download, the master password (show once) and the public key to send. */
export interface NewVault {
  readonly file: TVaultKeyFile;
  readonly masterPassword: string;
  readonly publicKey: string;
}

/** Makes the key pair and master password and wraps the private key (Argon2id in a worker). */
export async function createVaultKeyFile(instanceId: string, phase: (label: string) => void): Promise<NewVault> {
  const pair = generateBoxKeyPair();
  const masterPassword = generateRecoveryCode();
  const params = freshParams();
  phase(`Stretching the master password with Argon2id (${describeCost(params)})`);
  const secret = normalizeRecoveryCode(masterPassword) ?? "";
  const { authKey, wrapKey: key } = await deriveInWorker(secret, params, "password", kdfContext(instanceId));
  try {
    const wrapped = wrapKey(key, pair.privateKey, wrapContext(instanceId, pair.publicKey));
    const file: TVaultKeyFile = {
      format: "veil-vault-key",
      version: 1,
      instanceId: instanceId.toLowerCase(),
      kdf: paramsToWire(params),
      publicKey: toBase64Url(pair.publicKey),
      wrappedKey: toBase64Url(wrapped),
      createdAt: new Date().toISOString(),
    };
    return { file, masterPassword, publicKey: file.publicKey };
  } finally {
    wipe(authKey, key, pair.privateKey);
  }
}

/** Parses the text of a chosen file; throws VaultKeyFileError("malformed") for anything else. */
export function parseVaultKeyFile(text: string): TVaultKeyFile {
  if (text.length > MAX_KEY_FILE_BYTES)
    throw new VaultKeyFileError("malformed", "This file is too large to be a vault key file.");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VaultKeyFileError("malformed", "This is not a vault key file (it is not JSON).");
  }
  const parsed = ZVaultKeyFileSchema.safeParse(json);
  if (!parsed.success) throw new VaultKeyFileError("malformed", "This is not a Veil vault key file, or it is damaged.");
  return parsed.data;
}

/**
 * Opens a key file for `instanceId` with the typed master password and returns the raw private
 * key (wipe after sending). Checks, in order: the instance, the vault's public key (when the
 * companion reported one), the Argon2id cost (a tampered file cannot ask for a cheap or
 * exhausting derivation), then the authenticated unwrap and the derived public key.
 */
export async function openVaultKeyFile(
  file: TVaultKeyFile,
  password: string,
  instanceId: string,
  expectedPublicKeySha256: string | null,
  phase: (label: string) => void,
): Promise<Uint8Array> {
  if (file.instanceId.toLowerCase() !== instanceId.toLowerCase())
    throw new VaultKeyFileError("other_instance", "This key file belongs to another instance.");
  const publicKey = fromBase64Url(file.publicKey);
  if (expectedPublicKeySha256 !== null && publicKeySha256(publicKey) !== expectedPublicKeySha256)
    throw new VaultKeyFileError(
      "other_vault",
      "This key file does not match this instance's vault (its public key differs): it is for an older vault or was altered.",
    );
  let params;
  try {
    params = checkServedParams(file.kdf);
  } catch {
    throw new VaultKeyFileError(
      "weak_params",
      "This key file asks for key-derivation settings Veil refuses: it was altered.",
    );
  }
  const wrongOrTampered = new VaultKeyFileError(
    "wrong_password_or_tampered",
    "The master password is wrong, or the key file was altered. Nothing was sent.",
  );
  const secret = normalizeRecoveryCode(password);
  if (secret === null) throw wrongOrTampered;
  let wrapped;
  try {
    wrapped = wrappedKey(fromBase64Url(file.wrappedKey));
  } catch {
    throw wrongOrTampered;
  }
  phase(`Checking the master password with Argon2id (${describeCost(params)})`);
  const { authKey, wrapKey: key } = await deriveInWorker(secret, params, "password", kdfContext(instanceId));
  let raw: Uint8Array;
  try {
    raw = unwrapKey(key, wrapped, wrapContext(instanceId, publicKey));
  } catch {
    throw wrongOrTampered;
  } finally {
    wipe(authKey, key);
  }
  if (raw.length !== 32) {
    wipe(raw);
    throw wrongOrTampered;
  }
  const pair = boxKeyPairFromPrivateKey(boxPrivateKey(raw));
  if (!constantTimeEqual(pair.publicKey, publicKey)) {
    wipe(raw);
    throw wrongOrTampered;
  }
  return raw;
}

/** The key file as a download: JSON text and a file name. */
export function keyFileDownload(file: TVaultKeyFile, instanceName: string): { text: string; name: string } {
  const slug =
    instanceName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "instance";
  return { text: `${JSON.stringify(file, null, 2)}\n`, name: `veil-vault-${slug}.json` };
}
