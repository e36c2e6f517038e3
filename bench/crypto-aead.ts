/**
 * AEAD throughput: @noble/ciphers (the portable path) and libsodium compiled to WebAssembly (what
 * the browser and the companion put in front for E2E frames, @veil/crypto primitives/sodium.ts)
 * against node:crypto's native OpenSSL. Encryption of one message per call, fresh output each
 * time, at 130 B (an E2E session frame), 1 KiB (a device frame) and 1 MiB (a file).
 *
 *   pnpm --filter @veil/bench exec tsx crypto-aead.ts
 */
import { createCipheriv, randomBytes, type CipherGCM } from "node:crypto";
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { loadSodium } from "@veil/crypto";
import { fmt, header, measure, printTable, type Row } from "./lib/measure";

const KiB = 1024;
const MiB = 1024 * KiB;

function nativeSeal(
  algorithm: "chacha20-poly1305" | "aes-256-gcm",
  key: Uint8Array,
  nonce: Uint8Array,
  data: Uint8Array,
): Uint8Array {
  // Both AEADs expose getAuthTag(); @types/node types the chacha overload loosely.
  const cipher = createCipheriv(algorithm as "aes-256-gcm", key, nonce, { authTagLength: 16 }) as CipherGCM;
  const head = cipher.update(data);
  const tail = cipher.final();
  return Buffer.concat([head, tail, cipher.getAuthTag()]);
}

header("AEAD throughput (encrypt)");
const key = randomBytes(32);
const nonce12 = randomBytes(12);
const nonce24 = randomBytes(24);
const rows: Row[] = [];
const sodium = await loadSodium();

for (const size of [130, KiB, MiB]) {
  const data = randomBytes(size);
  const label = size === 130 ? "130 B" : size === KiB ? "1 KiB" : "1 MiB";
  // Sanity: noble and native agree byte for byte before anything is timed.
  const a = chacha20poly1305(key, nonce12).encrypt(data);
  const b = nativeSeal("chacha20-poly1305", key, nonce12, data);
  const c = gcm(key, nonce12).encrypt(data);
  const d = nativeSeal("aes-256-gcm", key, nonce12, data);
  const e = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(data, null, null, nonce12, key);
  if (Buffer.compare(a, b) !== 0 || Buffer.compare(c, d) !== 0 || Buffer.compare(a, e) !== 0)
    throw new Error("noble, libsodium and node:crypto disagree");

  const nativeChacha = measure(() => nativeSeal("chacha20-poly1305", key, nonce12, data));
  const nobleX = measure(() => xchacha20poly1305(key, nonce24).encrypt(data));
  const nobleC = measure(() => chacha20poly1305(key, nonce12).encrypt(data));
  const sodiumC = measure(() => sodium.crypto_aead_chacha20poly1305_ietf_encrypt(data, null, null, nonce12, key));
  rows.push(
    {
      operation: `ChaCha20-Poly1305 ${label}`,
      implementation: "node:crypto chacha20-poly1305 (baseline)",
      figure: fmt.mbps(nativeChacha, size),
      ratio: "1.0×",
    },
    {
      operation: `ChaCha20-Poly1305 ${label}`,
      implementation: "@noble xchacha20poly1305",
      figure: fmt.mbps(nobleX, size),
      ratio: fmt.ratio(nobleX, nativeChacha),
    },
    {
      operation: `ChaCha20-Poly1305 ${label}`,
      implementation: "@noble chacha20poly1305",
      figure: fmt.mbps(nobleC, size),
      ratio: fmt.ratio(nobleC, nativeChacha),
    },
    {
      operation: `ChaCha20-Poly1305 ${label}`,
      implementation: "libsodium crypto_aead_chacha20poly1305_ietf",
      figure: fmt.mbps(sodiumC, size),
      ratio: fmt.ratio(sodiumC, nativeChacha),
    },
  );

  const nativeGcm = measure(() => nativeSeal("aes-256-gcm", key, nonce12, data));
  const nobleGcm = measure(() => gcm(key, nonce12).encrypt(data));
  rows.push(
    {
      operation: `AES-256-GCM ${label}`,
      implementation: "node:crypto aes-256-gcm (baseline)",
      figure: fmt.mbps(nativeGcm, size),
      ratio: "1.0×",
    },
    {
      operation: `AES-256-GCM ${label}`,
      implementation: "@noble gcm",
      figure: fmt.mbps(nobleGcm, size),
      ratio: fmt.ratio(nobleGcm, nativeGcm),
    },
  );
}

printTable("AEAD, encrypt one message (MB/s, higher is better)", rows);
