/**
 * "Add an instance" in the admin's browser (docs/PROTOCOL-COMPANION.md §1): the instance's
 * Ed25519 and X25519 key pairs and a 256-bit token are made HERE; the token is stretched like a
 * password (Argon2id in the worker, kind "instance-token", the instance id bound into the salt);
 * the private keys are wrapped under the token's WrapKey with the AAD the companion's enrollment
 * expects (instance id, purpose, the key's own public key); the admin's identity key signs the
 * certificate. The console receives exactly ZInstanceCreateRequestSchema: public keys, wrapped
 * keys, KDF params and salt, the token's AuthKey (which it hashes) and the certificate — never
 * the token, the WrapKey or a private key. The token lives on only inside the enrollment line
 * returned to the page, shown once.
 */
import {
  fingerprint,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  generateToken,
  signStatement,
  toBase64Url,
  wipe,
  wrapKey,
  WRAP_PURPOSES,
} from "@veil/crypto";
import {
  encodeEnrollment,
  INSTANCE_CERTIFICATE_DOMAIN,
  ZInstanceCertificateBodySchema,
  ZInstanceCreateRequestSchema,
  type TInstanceCertificateBody,
  type TInstanceCreateRequest,
  type TInstanceSummary,
  type TMeResponse,
} from "@veil/protocol";
import type { AccountKeyPairs } from "../account-keys";
import { deriveInWorker } from "../derive-keys";
import { describeCost, freshParams, paramsToWire } from "../kdf-params";
import * as api from "./endpoints";
import { GRANT_LIFETIME_MS, ownPublicKeys, signGrant } from "./trust";

export interface AddedInstance {
  /** The console's answer (unsigned: its `name` is the console's word, not what was signed). */
  readonly instance: TInstanceSummary;
  /** The name this browser signed into the instance certificate: the one to show. */
  readonly certifiedName: string;
  /** The `veil1_…` enrollment string: a secret, shown once, never stored by this page. */
  readonly enrollment: string;
  readonly consoleUrl: string;
  readonly consolePin: string;
}

export async function addInstance(
  name: string,
  me: TMeResponse,
  keys: AccountKeyPairs,
  phase: (label: string) => void,
): Promise<AddedInstance> {
  const trimmed = name.trim();
  // Our own grant names the key pairs this tab holds; a served certificate that does not certify
  // them stops everything before anything is made.
  const own = ownPublicKeys(me.user.id, keys, me.keys.boxKeyCertificate);
  // What goes into the enrollment string comes from the console: its URL must be our origin.
  const info = await api.companionInfo();
  if (new URL(info.consoleUrl).origin !== window.location.origin)
    throw new Error("The console named another address for companions than this page's. Nothing was made.");

  const instanceId = crypto.randomUUID();
  const identity = generateIdentityKeyPair();
  const box = generateBoxKeyPair();
  const token = generateToken();
  const params = freshParams();
  phase(`Deriving the instance token's keys (${describeCost(params)})`);
  const { authKey, wrapKey: wrap } = await deriveInWorker(token, params, "instance-token", instanceId);
  try {
    phase("Signing the instance certificate");
    const certBody: TInstanceCertificateBody = ZInstanceCertificateBodySchema.parse({
      instanceId,
      name: trimmed,
      identityPublicKey: toBase64Url(identity.publicKey),
      boxPublicKey: toBase64Url(box.publicKey),
      issuedAt: Date.now(),
    });
    const statement = signStatement(INSTANCE_CERTIFICATE_DOMAIN, certBody, keys.identity.privateKey);
    const body: TInstanceCreateRequest = ZInstanceCreateRequestSchema.parse({
      instanceId,
      name: trimmed,
      kdf: paramsToWire(params),
      authKey: toBase64Url(authKey),
      identityPublicKey: certBody.identityPublicKey,
      boxPublicKey: certBody.boxPublicKey,
      wrappedIdentityPrivateKey: toBase64Url(
        wrapKey(wrap, identity.privateKey, {
          ownerId: instanceId,
          purpose: WRAP_PURPOSES.identityPrivateKey,
          publicKey: identity.publicKey,
        }),
      ),
      wrappedBoxPrivateKey: toBase64Url(
        wrapKey(wrap, box.privateKey, {
          ownerId: instanceId,
          purpose: WRAP_PURPOSES.boxPrivateKey,
          publicKey: box.publicKey,
        }),
      ),
      certificate: { statement, signerPublicKey: toBase64Url(keys.identity.publicKey) },
    });
    phase("Storing the instance");
    const { instance } = await api.createInstance(body);

    // The companion accepts only accounts with a grant signed by the pinned signer: ours too.
    phase("Signing your own grant");
    const bundle = signGrant(
      keys.identity.privateKey,
      keys.identity.publicKey,
      instanceId,
      own,
      "admin",
      Date.now() + GRANT_LIFETIME_MS,
    );
    const grantBody = bundle.grant.body as { expiresAt: number };
    await api.createGrant(instanceId, { accountId: me.user.id, role: "admin", expiresAt: grantBody.expiresAt, bundle });

    const enrollment = encodeEnrollment({
      consoleUrl: info.consoleUrl,
      instanceId,
      token,
      signerFingerprint: toBase64Url(fingerprint(keys.identity.publicKey)),
      consolePin: info.consolePin,
    });
    return {
      instance,
      certifiedName: certBody.name,
      enrollment,
      consoleUrl: info.consoleUrl,
      consolePin: info.consolePin,
    };
  } finally {
    wipe(authKey, wrap, identity.privateKey, box.privateKey);
  }
}
