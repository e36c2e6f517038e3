/**
 * Curve operations: @noble/curves against node:crypto (OpenSSL). The handshake costs one
 * X25519 per side per DH, and every signed statement one Ed25519 verify, so these rates bound
 * how many handshakes and checks a core can do.
 *
 *   pnpm --filter @veil/bench exec tsx crypto-curves.ts
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { fmt, header, measure, printTable, type Row } from "./lib/measure";

// RFC 8410 DER wrappers for raw 32-byte keys.
const PKCS8 = { x25519: "302e020100300506032b656e04220420", ed25519: "302e020100300506032b657004220420" };
const SPKI = { x25519: "302a300506032b656e032100", ed25519: "302a300506032b6570032100" };

function privateKey(kind: "x25519" | "ed25519", raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([Buffer.from(PKCS8[kind], "hex"), raw]), format: "der", type: "pkcs8" });
}
function publicKey(kind: "x25519" | "ed25519", raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([Buffer.from(SPKI[kind], "hex"), raw]), format: "der", type: "spki" });
}
// The same keys through JWK: OpenSSL 3's DER decoder costs ~0.4 ms per key, JWK skips it.
const crv = { x25519: "X25519", ed25519: "Ed25519" } as const;
const b64u = (raw: Uint8Array): string => Buffer.from(raw).toString("base64url");
function privateKeyJwk(kind: "x25519" | "ed25519", raw: Uint8Array, pub: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: "OKP", crv: crv[kind], d: b64u(raw), x: b64u(pub) }, format: "jwk" });
}
function publicKeyJwk(kind: "x25519" | "ed25519", raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: crv[kind], x: b64u(raw) }, format: "jwk" });
}

header("X25519 and Ed25519");
const rows: Row[] = [];

// X25519 shared secret.
const aliceSk = x25519.utils.randomSecretKey();
const bobPk = x25519.getPublicKey(x25519.utils.randomSecretKey());
const aliceKey = privateKey("x25519", aliceSk);
const bobKey = publicKey("x25519", bobPk);
const nobleShared = x25519.getSharedSecret(aliceSk, bobPk);
if (Buffer.compare(nobleShared, diffieHellman({ privateKey: aliceKey, publicKey: bobKey })) !== 0) {
  throw new Error("X25519: noble and node:crypto disagree");
}
const xNative = measure(() => diffieHellman({ privateKey: aliceKey, publicKey: bobKey }));
const alicePk = x25519.getPublicKey(aliceSk);
const xNativeRaw = measure(() =>
  diffieHellman({ privateKey: privateKey("x25519", aliceSk), publicKey: publicKey("x25519", bobPk) }),
);
const xNativeJwk = measure(() =>
  diffieHellman({ privateKey: privateKeyJwk("x25519", aliceSk, alicePk), publicKey: publicKeyJwk("x25519", bobPk) }),
);
const xNoble = measure(() => x25519.getSharedSecret(aliceSk, bobPk));
rows.push(
  {
    operation: "X25519 shared secret",
    implementation: "node:crypto, KeyObjects ready (baseline)",
    figure: fmt.ops(xNative),
    ratio: "1.0×",
  },
  {
    operation: "X25519 shared secret",
    implementation: "node:crypto, importing raw keys each call (DER)",
    figure: fmt.ops(xNativeRaw),
    ratio: fmt.ratio(xNativeRaw, xNative),
  },
  {
    operation: "X25519 shared secret",
    implementation: "node:crypto, importing raw keys each call (JWK)",
    figure: fmt.ops(xNativeJwk),
    ratio: fmt.ratio(xNativeJwk, xNative),
  },
  {
    operation: "X25519 shared secret",
    implementation: "@noble/curves",
    figure: fmt.ops(xNoble),
    ratio: fmt.ratio(xNoble, xNative),
  },
);

// Ed25519 over a 256-byte statement.
const message = randomBytes(256);
const edSk = ed25519.utils.randomSecretKey();
const edPk = ed25519.getPublicKey(edSk);
const edPrivate = privateKey("ed25519", edSk);
const edPublic = publicKey("ed25519", edPk);
const sig = ed25519.sign(message, edSk);
if (Buffer.compare(sig, sign(null, message, edPrivate)) !== 0 || !verify(null, message, edPublic, sig)) {
  throw new Error("Ed25519: noble and node:crypto disagree");
}
const sNative = measure(() => sign(null, message, edPrivate));
const sNativeRaw = measure(() => sign(null, message, privateKey("ed25519", edSk)));
const sNativeJwk = measure(() => sign(null, message, privateKeyJwk("ed25519", edSk, edPk)));
const sNoble = measure(() => ed25519.sign(message, edSk));
const vNative = measure(() => verify(null, message, edPublic, sig));
const vNativeRaw = measure(() => verify(null, message, publicKey("ed25519", edPk), sig));
const vNativeJwk = measure(() => verify(null, message, publicKeyJwk("ed25519", edPk), sig));
const vNoble = measure(() => ed25519.verify(sig, message, edPk));
rows.push(
  {
    operation: "Ed25519 sign, 256 B",
    implementation: "node:crypto (baseline)",
    figure: fmt.ops(sNative),
    ratio: "1.0×",
  },
  {
    operation: "Ed25519 sign, 256 B",
    implementation: "node:crypto, importing the raw seed each call (DER)",
    figure: fmt.ops(sNativeRaw),
    ratio: fmt.ratio(sNativeRaw, sNative),
  },
  {
    operation: "Ed25519 sign, 256 B",
    implementation: "node:crypto, importing the raw seed each call (JWK)",
    figure: fmt.ops(sNativeJwk),
    ratio: fmt.ratio(sNativeJwk, sNative),
  },
  {
    operation: "Ed25519 sign, 256 B",
    implementation: "@noble/curves",
    figure: fmt.ops(sNoble),
    ratio: fmt.ratio(sNoble, sNative),
  },
  {
    operation: "Ed25519 verify, 256 B",
    implementation: "node:crypto (baseline)",
    figure: fmt.ops(vNative),
    ratio: "1.0×",
  },
  {
    operation: "Ed25519 verify, 256 B",
    implementation: "node:crypto, importing the raw key each call (DER)",
    figure: fmt.ops(vNativeRaw),
    ratio: fmt.ratio(vNativeRaw, vNative),
  },
  {
    operation: "Ed25519 verify, 256 B",
    implementation: "node:crypto, importing the raw key each call (JWK)",
    figure: fmt.ops(vNativeJwk),
    ratio: fmt.ratio(vNativeJwk, vNative),
  },
  {
    operation: "Ed25519 verify, 256 B",
    implementation: "@noble/curves",
    figure: fmt.ops(vNoble),
    ratio: fmt.ratio(vNoble, vNative),
  },
);

printTable("Curves (ops/s, higher is better)", rows);
