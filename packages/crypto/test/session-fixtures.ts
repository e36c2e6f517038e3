// Shared set-up for the session suites (browser-compatible: no node:*).
import { getPrimitives } from "../src/primitives/index";
import { acceptSession, initiateSession, type Session, type SessionBinding } from "../src/session/index";

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function keyPair(): KeyPair {
  const secretKey = globalThis.crypto.getRandomValues(new Uint8Array(32));
  return { secretKey, publicKey: getPrimitives().x25519PublicKey(secretKey) };
}

/** Deterministic key pair from a one-byte seed (tests only). */
export function fixedKeyPair(seed: number): KeyPair {
  const secretKey = new Uint8Array(32).fill(seed);
  return { secretKey, publicKey: getPrimitives().x25519PublicKey(secretKey) };
}

export const account: KeyPair = fixedKeyPair(0x11);
export const instance: KeyPair = fixedKeyPair(0x22);
export const binding: SessionBinding = {
  protocolVersion: 3,
  instanceId: "inst_01HZX3K9Q7",
  accountId: "acct_01HZX3KA2M",
};

export interface Pair {
  browser: Session;
  companion: Session;
  browserPayload: Uint8Array;
  companionPayload: Uint8Array;
}

/** A full KK handshake between the fixture keys; both payloads as received by the peer. */
export function handshake(opts: { rekeyInterval?: number; hello?: Uint8Array; reply?: Uint8Array } = {}): Pair {
  const pending = initiateSession({
    ...binding,
    accountSecretKey: account.secretKey,
    instancePublicKey: instance.publicKey,
    payload: opts.hello,
    rekeyInterval: opts.rekeyInterval,
  });
  const incoming = acceptSession({
    ...binding,
    instanceSecretKey: instance.secretKey,
    accountPublicKey: account.publicKey,
    message: pending.message,
    rekeyInterval: opts.rekeyInterval,
  });
  const { message, session: companion } = incoming.respond(opts.reply);
  const { session: browser, payload } = pending.finish(message);
  return { browser, companion, browserPayload: incoming.payload, companionPayload: payload };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
export const fromHex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
