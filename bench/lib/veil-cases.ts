import {
  acceptSession,
  initiateSession,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  randomBytes,
  seal,
  signStatement,
  unseal,
  utf8,
  verifyStatement,
  type Session,
} from "@veil/crypto";

export interface VeilCase {
  readonly operation: string;
  /** Payload bytes when the figure is throughput, else 0. */
  readonly bytes: number;
  /**
   * Makes the operation to time. Called after the primitives are chosen: a Session keeps the
   * primitives it was created with, so sessions must be set up under the ones being measured.
   */
  readonly prepare: () => () => unknown;
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

  // Noise KK between an account (browser) and an instance (companion).
  const account = generateBoxKeyPair();
  const instance = generateBoxKeyPair();
  const binding = { protocolVersion: 1, instanceId: "inst_01HZX3K9Q7", accountId: "acct_01HZX3KA2M" };
  /** A full handshake as it runs across the relay: first message, reply, both sessions. */
  const handshake = (): { browser: Session; companion: Session } => {
    const pending = initiateSession({
      ...binding,
      accountSecretKey: account.privateKey,
      instancePublicKey: instance.publicKey,
    });
    const incoming = acceptSession({
      ...binding,
      instanceSecretKey: instance.privateKey,
      accountPublicKey: account.publicKey,
      message: pending.message,
    });
    const reply = incoming.respond();
    return { browser: pending.finish(reply.message).session, companion: reply.session };
  };
  const frame = randomBytes(1024);
  // The relay benchmark's ping request: 130 bytes of JSON (bench/relay.ts).
  const ping = randomBytes(130);
  return [
    {
      operation: "seal 1 KiB, 1 recipient, HPKE auth + signed",
      bytes: 0,
      prepare: () => () => seal(small, { recipients: [recipient.publicKey], sender, signer: signer.privateKey, aad }),
    },
    {
      operation: "unseal 1 KiB, HPKE auth + signed",
      bytes: 0,
      prepare: () => () => unseal(sealSmall, { recipient, sender: sender.publicKey, signer: signer.publicKey, aad }),
    },
    {
      operation: "seal 1 MiB, 1 recipient",
      bytes: large.length,
      prepare: () => () => seal(large, { recipients: [recipient.publicKey], aad }),
    },
    { operation: "unseal 1 MiB", bytes: large.length, prepare: () => () => unseal(sealLarge, { recipient, aad }) },
    {
      operation: "signStatement (grant)",
      bytes: 0,
      prepare: () => () => signStatement("veil/v1/grant", body, signer.privateKey),
    },
    {
      operation: "verifyStatement (grant)",
      bytes: 0,
      prepare: () => () => verifyStatement(statement, "veil/v1/grant", signer.publicKey),
    },
    {
      operation: "Noise KK handshake, both sides",
      bytes: 0,
      prepare: () => handshake,
    },
    // One direction's frame, sealed by the browser and opened by the companion (counters advance together).
    {
      operation: "session frame 1 KiB, seal + open",
      bytes: 0,
      prepare: () => {
        const { browser, companion } = handshake();
        return () => companion.open(browser.seal(frame));
      },
    },
    {
      operation: "session frame 130 B (a ping), seal + open",
      bytes: 0,
      prepare: () => {
        const { browser, companion } = handshake();
        return () => companion.open(browser.seal(ping));
      },
    },
  ];
}
