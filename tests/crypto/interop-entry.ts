// The browser half of interop.test.ts. Bundled by esbuild for the browser and loaded into a
// real Chromium page; only public keys and ciphertext leave the page, as in the console.
import {
  fromHex,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  boxPublicKey,
  identityPublicKey,
  kdfParams,
  DEFAULT_KDF,
  derivePasswordKeys,
  seal,
  signStatement,
  toHex,
  unseal,
  utf8,
  verifyStatement,
  initiateSession,
  type JsonValue,
  type PendingInitiatorSession,
  type Session,
  type SignedStatement,
} from "@veil/crypto";

const box = generateBoxKeyPair();
const identity = generateIdentityKeyPair();
let pending: PendingInitiatorSession | undefined;
let session: Session | undefined;

/** A failure as the other side observes it: its stable `code` if it has one, else its name. */
type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };
function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { ok: false, error: typeof code === "string" ? code : error instanceof Error ? error.name : String(error) };
  }
}

const api = {
  /** This browser's public keys, hex. */
  publicKeys(): { box: string; identity: string } {
    return { box: toHex(box.publicKey), identity: toHex(identity.publicKey) };
  },
  /** Seals to `recipientsHex`, authenticated with this browser's box key and signed by its identity. */
  seal(plaintextHex: string, recipientsHex: string[], aad: string): string {
    const recipients = recipientsHex.map((r) => boxPublicKey(fromHex(r)));
    return toHex(seal(fromHex(plaintextHex), { recipients, sender: box, signer: identity.privateKey, aad: utf8(aad) }));
  },
  /** Opens as this browser; the sender and signer must be the given Node keys. */
  unseal(sealedHex: string, senderHex: string, signerHex: string, aad: string): Outcome<string> {
    return attempt(() =>
      toHex(
        unseal(fromHex(sealedHex), {
          recipient: box,
          sender: boxPublicKey(fromHex(senderHex)),
          signer: identityPublicKey(fromHex(signerHex)),
          aad: utf8(aad),
        }),
      ),
    );
  },
  sign(domain: string, body: JsonValue): SignedStatement {
    return signStatement(domain, body, identity.privateKey);
  },
  verify(statement: SignedStatement, domain: string, signerHex: string): Outcome<JsonValue> {
    return attempt(() => verifyStatement(statement, domain, identityPublicKey(fromHex(signerHex))));
  },
  /** Password keys at the default Argon2id cost, with the time the derivation took. */
  async derive(
    password: string,
    saltHex: string,
    email: string,
  ): Promise<{ authKey: string; wrapKey: string; ms: number }> {
    const params = kdfParams({ ...DEFAULT_KDF, salt: fromHex(saltHex) });
    const start = performance.now();
    const keys = await derivePasswordKeys(password, params, email);
    const ms = performance.now() - start;
    return { authKey: toHex(keys.authKey), wrapKey: toHex(keys.wrapKey), ms };
  },
  /** Starts a Noise KK session as the browser (account = this page's box key); returns the first message. */
  initiate(
    binding: { protocolVersion: number; instanceId: string; accountId: string },
    instancePublicKeyHex: string,
    helloHex: string,
  ): string {
    pending = initiateSession({
      ...binding,
      accountSecretKey: box.privateKey,
      instancePublicKey: fromHex(instancePublicKeyHex),
      payload: fromHex(helloHex),
    });
    return toHex(pending.message);
  },
  /** Completes the handshake with the companion's reply; returns the reply's payload. */
  finish(replyHex: string): Outcome<string> {
    return attempt(() => {
      if (pending === undefined) throw new Error("no pending session");
      const established = pending.finish(fromHex(replyHex));
      session = established.session;
      return toHex(established.payload);
    });
  },
  sealFrame(plaintextHex: string): string {
    if (session === undefined) throw new Error("no session");
    return toHex(session.seal(fromHex(plaintextHex)));
  },
  openFrame(frameHex: string): Outcome<string> {
    return attempt(() => {
      if (session === undefined) throw new Error("no session");
      return toHex(session.open(fromHex(frameHex)));
    });
  },
  /** Both handshake hashes must match for channel binding (Noise §11.2). */
  handshakeHash(): string {
    if (session === undefined) throw new Error("no session");
    return toHex(session.handshakeHash);
  },
  /** The defaults as the bundle sees them (to prove both sides use the same cost). */
  defaults(): { memoryKiB: number; iterations: number; parallelism: number } {
    return { ...DEFAULT_KDF };
  },
};

export type VeilInterop = typeof api;
(globalThis as unknown as { veilInterop: VeilInterop }).veilInterop = api;
