// An instance certificate signed by `signer`, as the console lists it and as the browser
// verifies it (trust.ts verifyInstance): what the trust, grants card and revoke-grant tests use.
import { generateBoxKeyPair, generateIdentityKeyPair, signStatement, toBase64Url } from "@veil/crypto";
import {
  INSTANCE_CERTIFICATE_DOMAIN,
  type TGrantBundle,
  type TGrantSummary,
  type TInstanceSummary,
} from "@veil/protocol";
import { verifyInstance, type VerifiedInstance } from "../../src/client/instances/trust";

/** The console's listing of an instance `signer` certified, with fresh instance keys. */
export function certifiedListing(
  instanceId: string,
  signer: ReturnType<typeof generateIdentityKeyPair>,
): TInstanceSummary {
  const identityPublicKey = toBase64Url(generateIdentityKeyPair().publicKey);
  const boxPublicKey = toBase64Url(generateBoxKeyPair().publicKey);
  const statement = signStatement(
    INSTANCE_CERTIFICATE_DOMAIN,
    { instanceId, name: "site", identityPublicKey, boxPublicKey, issuedAt: Date.now() },
    signer.privateKey,
  );
  return {
    id: instanceId,
    name: "site",
    adminUserId: crypto.randomUUID(),
    identityPublicKey,
    boxPublicKey,
    certificate: { statement, signerPublicKey: toBase64Url(signer.publicKey) },
    createdAt: new Date().toISOString(),
    enrolledAt: null,
    rotatedAt: null,
    revokedAt: null,
    presence: { online: false, lastSeenAt: null, companionVersion: null, address: null },
    myRole: "admin",
  };
}

/** {@link certifiedListing}, verified as the browser does. */
export function verifiedInstance(
  instanceId: string,
  signer: ReturnType<typeof generateIdentityKeyPair>,
): VerifiedInstance {
  return verifyInstance(certifiedListing(instanceId, signer));
}

/** The console's listing row of `bundle` on `instanceId`, filed under `accountId` (which a console may choose). */
export function grantRow(instanceId: string, bundle: TGrantBundle, accountId: string): TGrantSummary {
  return {
    id: crypto.randomUUID(),
    instanceId,
    accountId,
    role: "operator",
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    createdAt: new Date().toISOString(),
    createdBy: null,
    bundle,
    delegation: null,
  };
}
