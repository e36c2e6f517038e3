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
import { assertBytes } from "../errors";
import type { Primitives } from "./types";

type Sodium = typeof sodiumModule;

const KEY_LEN = 32;
const TAG_LEN = 16;

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
      assertBytes(key, "key", KEY_LEN);
      assertBytes(nonce, "nonce", nonceLen);
      return seal(plaintext, aad, null, nonce, key);
    },
    open(key, nonce, sealed, aad) {
      assertBytes(key, "key", KEY_LEN);
      assertBytes(nonce, "nonce", nonceLen);
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
  // Longer messages go to `base`: sealing looks at the plaintext, opening at the sealed message.
  const routed = (small: Aead, large: Aead): Aead => ({
    seal: (key, nonce, plaintext, aad) =>
      (plaintext.length > maxBytes ? large : small).seal(key, nonce, plaintext, aad),
    open: (key, nonce, sealed, aad) => (sealed.length > maxBytes ? large : small).open(key, nonce, sealed, aad),
  });
  const ietf = routed(
    sodiumAead(12, sodium.crypto_aead_chacha20poly1305_ietf_encrypt, sodium.crypto_aead_chacha20poly1305_ietf_decrypt),
    { seal: base.chacha20poly1305Seal, open: base.chacha20poly1305Open },
  );
  const x = routed(
    sodiumAead(
      24,
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt,
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt,
    ),
    { seal: base.xchacha20poly1305Seal, open: base.xchacha20poly1305Open },
  );
  return Object.freeze({
    ...base,
    name: `${base.name}+sodium`,
    chacha20poly1305Seal: ietf.seal,
    chacha20poly1305Open: ietf.open,
    xchacha20poly1305Seal: x.seal,
    xchacha20poly1305Open: x.open,
  } satisfies Primitives);
}
