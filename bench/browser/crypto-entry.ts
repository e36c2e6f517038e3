// Bundled by esbuild into the page that crypto-browser.ts opens in Chromium: @noble and libsodium
// against WebCrypto (the browser's native implementation), each op awaited in turn as an app would.
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { loadSodium } from "@veil/crypto";

export interface BrowserRow {
  readonly operation: string;
  readonly implementation: string;
  readonly opsPerSec: number;
  /** Bytes per operation when throughput is the figure, else 0. */
  readonly bytes: number;
  readonly baseline: boolean;
}

async function rate(fn: () => unknown, budgetMs = 1_000): Promise<number> {
  const warmEnd = performance.now() + budgetMs * 0.15;
  do await fn();
  while (performance.now() < warmEnd);
  const rates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    let n = 0;
    let now = start;
    do {
      await fn();
      n++;
      now = performance.now();
    } while (now - start < (budgetMs * 0.85) / 5);
    rates.push((n * 1000) / (now - start));
  }
  return rates.sort((a, b) => a - b)[2] ?? 0;
}

const PKCS8_X25519 = "302e020100300506032b656e04220420";
const PKCS8_ED25519 = "302e020100300506032b657004220420";
/** WebCrypto wants ArrayBuffer-backed views (TypeScript ≥ 5.7 tells them apart). */
type Bytes = Uint8Array<ArrayBuffer>;
const own = (b: Uint8Array): Bytes => new Uint8Array(b);

function hex(s: string): Bytes {
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}
function cat(a: Uint8Array, b: Uint8Array): Bytes {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function benchCrypto(): Promise<BrowserRow[]> {
  const subtle = crypto.subtle;
  const rows: BrowserRow[] = [];
  const rand = (n: number): Bytes => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
    return out;
  };
  const key = rand(32);
  const iv = rand(12);
  const aesKey = await subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
  for (const size of [1024, 1024 * 1024]) {
    const label = size === 1024 ? "1 KiB" : "1 MiB";
    const data = rand(size);
    const web = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv }, aesKey, data));
    if (!same(web, gcm(key, iv).encrypt(data))) throw new Error("AES-GCM: WebCrypto and noble disagree");
    const w = await rate(() => subtle.encrypt({ name: "AES-GCM", iv }, aesKey, data));
    const n = await rate(() => gcm(key, iv).encrypt(data));
    const x = await rate(() => xchacha20poly1305(key, rand(24)).encrypt(data));
    rows.push(
      {
        operation: `AES-256-GCM ${label}`,
        implementation: "WebCrypto (baseline)",
        opsPerSec: w,
        bytes: size,
        baseline: true,
      },
      { operation: `AES-256-GCM ${label}`, implementation: "@noble gcm", opsPerSec: n, bytes: size, baseline: false },
      {
        operation: `AES-256-GCM ${label}`,
        implementation: "@noble xchacha20poly1305 (other AEAD, same size)",
        opsPerSec: x,
        bytes: size,
        baseline: false,
      },
    );
  }

  // An E2E session frame (130 B) and a kilobyte: WebCrypto has no ChaCha20-Poly1305, so its
  // AES-GCM of the same size is the baseline, beside the two ChaCha20-Poly1305 the console can run.
  const sodium = await loadSodium();
  for (const size of [130, 1024]) {
    const label = size === 130 ? "130 B" : "1 KiB";
    const data = rand(size);
    const sealed = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(data, null, null, iv, key);
    if (!same(sealed, chacha20poly1305(key, iv).encrypt(data))) throw new Error("libsodium and noble disagree");
    rows.push(
      {
        operation: `AEAD encrypt ${label}`,
        implementation: "WebCrypto AES-256-GCM (baseline)",
        opsPerSec: await rate(() => subtle.encrypt({ name: "AES-GCM", iv }, aesKey, data)),
        bytes: size,
        baseline: true,
      },
      {
        operation: `AEAD encrypt ${label}`,
        implementation: "@noble chacha20poly1305",
        opsPerSec: await rate(() => chacha20poly1305(key, iv).encrypt(data)),
        bytes: size,
        baseline: false,
      },
      {
        operation: `AEAD encrypt ${label}`,
        implementation: "libsodium crypto_aead_chacha20poly1305_ietf",
        opsPerSec: await rate(() => sodium.crypto_aead_chacha20poly1305_ietf_encrypt(data, null, null, iv, key)),
        bytes: size,
        baseline: false,
      },
    );
  }

  const xSk = own(x25519.utils.randomSecretKey());
  const xPk = own(x25519.getPublicKey(x25519.utils.randomSecretKey()));
  const xPriv = await subtle.importKey("pkcs8", cat(hex(PKCS8_X25519), xSk), { name: "X25519" }, false, ["deriveBits"]);
  const xPub = await subtle.importKey("raw", xPk, { name: "X25519" }, true, []);
  const shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: xPub }, xPriv, 256));
  if (!same(shared, x25519.getSharedSecret(xSk, xPk))) throw new Error("X25519: WebCrypto and noble disagree");
  rows.push(
    {
      operation: "X25519 shared secret",
      implementation: "WebCrypto, keys imported (baseline)",
      opsPerSec: await rate(() => subtle.deriveBits({ name: "X25519", public: xPub }, xPriv, 256)),
      bytes: 0,
      baseline: true,
    },
    {
      operation: "X25519 shared secret",
      implementation: "WebCrypto, importing raw keys each call",
      opsPerSec: await rate(async () => {
        const priv = await subtle.importKey("pkcs8", cat(hex(PKCS8_X25519), xSk), { name: "X25519" }, false, [
          "deriveBits",
        ]);
        const pub = await subtle.importKey("raw", xPk, { name: "X25519" }, false, []);
        return subtle.deriveBits({ name: "X25519", public: pub }, priv, 256);
      }),
      bytes: 0,
      baseline: false,
    },
    {
      operation: "X25519 shared secret",
      implementation: "@noble/curves",
      opsPerSec: await rate(() => x25519.getSharedSecret(xSk, xPk)),
      bytes: 0,
      baseline: false,
    },
  );

  const msg = rand(256);
  const eSk = own(ed25519.utils.randomSecretKey());
  const ePk = own(ed25519.getPublicKey(eSk));
  const ePriv = await subtle.importKey("pkcs8", cat(hex(PKCS8_ED25519), eSk), { name: "Ed25519" }, false, ["sign"]);
  const ePub = await subtle.importKey("raw", ePk, { name: "Ed25519" }, false, ["verify"]);
  const sig = new Uint8Array(await subtle.sign("Ed25519", ePriv, msg));
  if (!same(sig, ed25519.sign(msg, eSk)) || !(await subtle.verify("Ed25519", ePub, sig, msg)))
    throw new Error("Ed25519: WebCrypto and noble disagree");
  rows.push(
    {
      operation: "Ed25519 sign, 256 B",
      implementation: "WebCrypto (baseline)",
      opsPerSec: await rate(() => subtle.sign("Ed25519", ePriv, msg)),
      bytes: 0,
      baseline: true,
    },
    {
      operation: "Ed25519 sign, 256 B",
      implementation: "@noble/curves",
      opsPerSec: await rate(() => ed25519.sign(msg, eSk)),
      bytes: 0,
      baseline: false,
    },
    {
      operation: "Ed25519 verify, 256 B",
      implementation: "WebCrypto (baseline)",
      opsPerSec: await rate(() => subtle.verify("Ed25519", ePub, sig, msg)),
      bytes: 0,
      baseline: true,
    },
    {
      operation: "Ed25519 verify, 256 B",
      implementation: "@noble/curves",
      opsPerSec: await rate(() => ed25519.verify(sig, msg, ePk)),
      bytes: 0,
      baseline: false,
    },
  );
  return rows;
}

(globalThis as unknown as { benchCrypto: typeof benchCrypto }).benchCrypto = benchCrypto;
