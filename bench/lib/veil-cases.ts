import {
  generateBoxKeyPair,
  generateIdentityKeyPair,
  randomBytes,
  seal,
  signStatement,
  unseal,
  utf8,
  verifyStatement,
} from "@veil/crypto";

export interface VeilCase {
  readonly operation: string;
  /** Payload bytes when the figure is throughput, else 0. */
  readonly bytes: number;
  readonly run: () => unknown;
}

/** The @veil/crypto calls on the hot paths, with their inputs prepared once. */
export function veilCases(): VeilCase[] {
  const sender = generateBoxKeyPair();
  const recipient = generateBoxKeyPair();
  const signer = generateIdentityKeyPair();
  const aad = utf8("veil/v1/bench");
  const small = randomBytes(1024);
  const large = randomBytes(1024 * 1024);
  const sealSmall = seal(small, { recipients: [recipient.publicKey], sender, signer: signer.privateKey, aad });
  const sealLarge = seal(large, { recipients: [recipient.publicKey], aad });
  const body = { instance: "inst_01", scopes: ["read", "exec"], expires: 1_800_000_000 };
  const statement = signStatement("veil/v1/grant", body, signer.privateKey);
  return [
    {
      operation: "seal 1 KiB, 1 recipient, HPKE auth + signed",
      bytes: 0,
      run: () => seal(small, { recipients: [recipient.publicKey], sender, signer: signer.privateKey, aad }),
    },
    {
      operation: "unseal 1 KiB, HPKE auth + signed",
      bytes: 0,
      run: () => unseal(sealSmall, { recipient, sender: sender.publicKey, signer: signer.publicKey, aad }),
    },
    { operation: "seal 1 MiB, 1 recipient", bytes: large.length, run: () => seal(large, { recipients: [recipient.publicKey], aad }) },
    { operation: "unseal 1 MiB", bytes: large.length, run: () => unseal(sealLarge, { recipient, aad }) },
    { operation: "signStatement (grant)", bytes: 0, run: () => signStatement("veil/v1/grant", body, signer.privateKey) },
    { operation: "verifyStatement (grant)", bytes: 0, run: () => verifyStatement(statement, "veil/v1/grant", signer.publicKey) },
  ];
}
