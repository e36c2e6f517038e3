import { randomUUID } from "node:crypto";
import {
  certifyBoxKey,
  deriveInstanceTokenKeys,
  fingerprint,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  generateKdfParams,
  generateToken,
  hashAuthKey,
  signStatement,
  toBase64Url,
  wrapKey,
  WRAP_PURPOSES,
  type AuthKey,
  type BoxKeyPair,
  type DerivedKeys,
  type IdentityKeyPair,
  type KdfParams,
  type WrapKey,
} from "../../src/crypto";
import {
  ADMIN_DELEGATION_DOMAIN,
  encodeEnrollment,
  GRANT_DOMAIN,
  INSTANCE_CERTIFICATE_DOMAIN,
  type TGrantBundle,
  type TInstanceCertificate,
  type TRole,
} from "../../src/protocol";

/**
 * The token KDF, memoised per (token, params): the real @veil/crypto function (floor enforced)
 * runs once per token per test file; every caller gets fresh copies (enrollment wipes its keys).
 */
const memo = new Map<string, Promise<DerivedKeys>>();
export function memoDeriveTokenKeys(token: string, params: KdfParams, instanceId: string): Promise<DerivedKeys> {
  const key = `${token}|${instanceId}|${toBase64Url(params.salt)}|${params.memoryKiB}|${params.iterations}|${params.parallelism}`;
  let p = memo.get(key);
  if (p === undefined) {
    p = deriveInstanceTokenKeys(token, params, instanceId);
    memo.set(key, p);
  }
  return p.then((k) => ({
    authKey: Uint8Array.from(k.authKey) as AuthKey,
    wrapKey: Uint8Array.from(k.wrapKey) as WrapKey,
  }));
}

/** An account as its browser holds it. */
export interface TestAccount {
  accountId: string;
  identity: IdentityKeyPair;
  box: BoxKeyPair;
}

/** A fresh account with identity and box key pairs. */
export function makeAccount(): TestAccount {
  return { accountId: randomUUID(), identity: generateIdentityKeyPair(), box: generateBoxKeyPair() };
}

/** What the console stores for an instance (all of it public or wrapped). */
export interface ConsoleInstanceRecord {
  instanceId: string;
  kdf: { alg: "argon2id"; memoryKiB: number; iterations: number; parallelism: number; salt: string };
  authKeyHash: Uint8Array;
  wrappedIdentityPrivateKey: string;
  wrappedBoxPrivateKey: string;
  certificate: TInstanceCertificate;
  revoked: boolean;
}

/** An instance as the admin's browser made it. */
export interface TestInstance {
  instanceId: string;
  token: string;
  identity: IdentityKeyPair;
  box: BoxKeyPair;
  admin: TestAccount;
  record: ConsoleInstanceRecord;
  /** The token's auth key, as the companion presents it (what the console stores a hash of). */
  authKey: AuthKey;
  enrollment(consoleUrl: string, consolePin: string): string;
}

/** What the admin's browser does on "add instance": keys, token, wrap, certificate (one Argon2id). */
export async function makeInstance(admin: TestAccount, name = "site"): Promise<TestInstance> {
  const instanceId = randomUUID();
  const identity = generateIdentityKeyPair();
  const box = generateBoxKeyPair();
  const token = generateToken();
  const params = generateKdfParams();
  const keys = await memoDeriveTokenKeys(token, params, instanceId);
  const statement = signStatement(
    INSTANCE_CERTIFICATE_DOMAIN,
    {
      instanceId,
      name,
      identityPublicKey: toBase64Url(identity.publicKey),
      boxPublicKey: toBase64Url(box.publicKey),
      issuedAt: Date.now(),
    },
    admin.identity.privateKey,
  );
  const record: ConsoleInstanceRecord = {
    instanceId,
    kdf: {
      alg: "argon2id",
      memoryKiB: params.memoryKiB,
      iterations: params.iterations,
      parallelism: params.parallelism,
      salt: toBase64Url(params.salt),
    },
    authKeyHash: hashAuthKey(keys.authKey),
    wrappedIdentityPrivateKey: toBase64Url(
      wrapKey(keys.wrapKey, identity.privateKey, {
        ownerId: instanceId,
        purpose: WRAP_PURPOSES.identityPrivateKey,
        publicKey: identity.publicKey,
      }),
    ),
    wrappedBoxPrivateKey: toBase64Url(
      wrapKey(keys.wrapKey, box.privateKey, {
        ownerId: instanceId,
        purpose: WRAP_PURPOSES.boxPrivateKey,
        publicKey: box.publicKey,
      }),
    ),
    certificate: {
      statement: { ...statement, body: statement.body },
      signerPublicKey: toBase64Url(admin.identity.publicKey),
    },
    revoked: false,
  };
  return {
    instanceId,
    token,
    identity,
    box,
    admin,
    record,
    authKey: keys.authKey,
    enrollment: (consoleUrl, consolePin) =>
      encodeEnrollment({
        consoleUrl,
        instanceId,
        token,
        signerFingerprint: toBase64Url(fingerprint(admin.identity.publicKey)),
        consolePin,
      }),
  };
}

/** A grant for `account` signed by `signer` (the pinned admin, or a delegated one). */
export function signGrant(options: {
  signer: TestAccount;
  account: TestAccount;
  instanceId: string;
  role: TRole;
  expiresAt?: number;
  issuedAt?: number;
  delegation?: TGrantBundle["delegation"];
}): TGrantBundle {
  const grant = signStatement(
    GRANT_DOMAIN,
    {
      grantId: randomUUID(),
      instanceId: options.instanceId,
      accountId: options.account.accountId,
      identityPublicKey: toBase64Url(options.account.identity.publicKey),
      boxPublicKey: toBase64Url(options.account.box.publicKey),
      role: options.role,
      issuedAt: options.issuedAt ?? Date.now(),
      expiresAt: options.expiresAt ?? Date.now() + 3600_000,
    },
    options.signer.identity.privateKey,
  );
  return {
    grant,
    signerPublicKey: toBase64Url(options.signer.identity.publicKey),
    ...(options.delegation === undefined ? {} : { delegation: options.delegation }),
    boxKeyCertificate: certifyAccountBoxKey(options.account),
  };
}

/** The account's own certificate of its box key, as the console's sign-up makes it (purpose "box"). */
export function certifyAccountBoxKey(account: TestAccount, epoch = 0): TGrantBundle["grant"] {
  return certifyBoxKey(account.identity.privateKey, account.box.publicKey, {
    ownerKind: "account",
    ownerId: account.accountId,
    purpose: "box",
    epoch,
  });
}

/** A delegation by `signer` letting `admin` sign grants for the instance. */
export function signDelegation(
  signer: TestAccount,
  admin: TestAccount,
  instanceId: string,
  expiresAt = Date.now() + 3600_000,
): TGrantBundle["grant"] {
  return signStatement(
    ADMIN_DELEGATION_DOMAIN,
    {
      instanceId,
      adminAccountId: admin.accountId,
      adminIdentityPublicKey: toBase64Url(admin.identity.publicKey),
      issuedAt: Date.now(),
      expiresAt,
    },
    signer.identity.privateKey,
  );
}
