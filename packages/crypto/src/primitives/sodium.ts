/**
 * ChaCha20-Poly1305 and XChaCha20-Poly1305 through libsodium compiled to WebAssembly
 * (libsodium-wrappers), in front of another implementation for everything else.
 *
 * Why: an E2E session seals and opens one AEAD message of 100–200 bytes per request at each end.
 * At that size libsodium takes 2–3 µs a call, @noble/ciphers ~11 µs and node:crypto ~6 µs, most of
 * it OpenSSL's per-call cipher set-up (docs/PERFORMANCE.md, "Session 8"). Above about a kilobyte
 * node:crypto's vectorised ChaCha20 wins, so a Node process hands longer messages to its base
 * implementation (`maxBytes`); in a browser libsodium is the faster one at every size.
 *
 * The output is byte-identical to the other implementations: the known-answer and Wycheproof
 * suites run against this one too, in Node and in Chromium (test/primitives-sodium.test.ts).
 * libsodium loads asynchronously (its WebAssembly module compiles once per process; the console's
 * CSP allows it with 'wasm-unsafe-eval', as for Argon2id), so it is loaded on demand and
 * installed with `useSodiumAead()`; until then the base implementation answers, with the same bytes.
 */
import type sodiumModule from "libsodium-wrappers";
import type { Primitives } from "./types";

type Sodium = typeof sodiumModule;

const KEY_LEN = 32;
const TAG_LEN = 16;

function need(bytes: Uint8Array, length: number, field: string): void {
  if (bytes.length !== length) throw new RangeError(`${field} must be ${length} bytes, got ${bytes.length}`);
}

/** libsodium, loaded and initialised (once; later calls share the first load). */
let loading: Promise<Sodium> | undefined;
export function loadSodium(): Promise<Sodium> {
  loading ??= import("libsodium-wrappers").then(async ({ default: sodium }) => {
    await sodium.ready;
    return sodium;
  });
  return loading;
}

interface Aead {
  seal: Primitives["chacha20poly1305Seal"];
  open: Primitives["chacha20poly1305Open"];
}

/** One libsodium AEAD with the length checks of the other implementations. */
function sodiumAead(
  nonceLen: number,
  seal: Sodium["crypto_aead_chacha20poly1305_ietf_encrypt"],
  open: Sodium["crypto_aead_chacha20poly1305_ietf_decrypt"],
): Aead {
  return {
    seal(key, nonce, plaintext, aad) {
      need(key, KEY_LEN, "key");
      need(nonce, nonceLen, "nonce");
      return seal(plaintext, aad, null, nonce, key);
    },
    open(key, nonce, sealed, aad) {
      need(key, KEY_LEN, "key");
      need(nonce, nonceLen, "nonce");
      if (sealed.length < TAG_LEN) throw new Error("ciphertext too short");
      // Throws on a bad tag (libsodium compares in constant time and writes no plaintext).
      return open(null, sealed, aad, nonce, key);
    },
  };
}

/**
 * `base` with its ChaCha20-Poly1305 and XChaCha20-Poly1305 done by `sodium` for messages of at
 * most `maxBytes` (plaintext when sealing, ciphertext and tag when opening); longer ones, and
 * every other primitive, stay with `base`.
 */
export function withSodiumAead(
  base: Primitives,
  sodium: Sodium,
  maxBytes: number = Number.POSITIVE_INFINITY,
): Primitives {
  const ietf = sodiumAead(
    12,
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt,
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt,
  );
  const x = sodiumAead(
    24,
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt,
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt,
  );
  return Object.freeze({
    ...base,
    name: `${base.name}+sodium`,
    chacha20poly1305Seal: (key, nonce, plaintext, aad) =>
      plaintext.length > maxBytes
        ? base.chacha20poly1305Seal(key, nonce, plaintext, aad)
        : ietf.seal(key, nonce, plaintext, aad),
    chacha20poly1305Open: (key, nonce, sealed, aad) =>
      sealed.length > maxBytes
        ? base.chacha20poly1305Open(key, nonce, sealed, aad)
        : ietf.open(key, nonce, sealed, aad),
    xchacha20poly1305Seal: (key, nonce, plaintext, aad) =>
      plaintext.length > maxBytes
        ? base.xchacha20poly1305Seal(key, nonce, plaintext, aad)
        : x.seal(key, nonce, plaintext, aad),
    xchacha20poly1305Open: (key, nonce, sealed, aad) =>
      sealed.length > maxBytes ? base.xchacha20poly1305Open(key, nonce, sealed, aad) : x.open(key, nonce, sealed, aad),
  } satisfies Primitives);
}
