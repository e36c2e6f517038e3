/**
 * Runs one Argon2id derivation in a fresh Web Worker (kdf.worker.ts) and returns the AuthKey
 * (sent to the console) and WrapKey (never leaves the browser). The caller has already checked
 * the params with checkServedParams; they are checked again here before the worker starts.
 */
import { assertKdfParams, type AuthKey, type KdfParams, type SecretKind, type WrapKey } from "@veil/crypto";

export interface DerivedSecretKeys {
  readonly authKey: AuthKey;
  readonly wrapKey: WrapKey;
}

const TIMEOUT_MS = 120_000;

function isKey(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length === 32;
}

/**
 * Argon2id(secret, params) → HKDF → { authKey, wrapKey } in a worker. `context` is the
 * identifier the USER typed (the normalised e-mail; never the console's answer): @veil/crypto
 * binds it into the Argon2id salt, so a console serving one salt to everyone still cannot use
 * one precomputed table for every account. Wipe both keys after use.
 */
export function deriveInWorker(
  secret: string,
  params: KdfParams,
  kind: SecretKind,
  context: string,
): Promise<DerivedSecretKeys> {
  assertKdfParams(params);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./kdf.worker.ts", import.meta.url), { type: "module", name: "veil-kdf" });
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error("Key derivation took too long and was stopped."));
    }, TIMEOUT_MS);
    const finish = () => {
      clearTimeout(timer);
      worker.terminate();
    };
    worker.onmessage = (event: MessageEvent<unknown>) => {
      finish();
      const d = event.data as { ok?: unknown; authKey?: unknown; wrapKey?: unknown; error?: unknown } | null;
      if (d?.ok === true && isKey(d.authKey) && isKey(d.wrapKey))
        resolve({ authKey: d.authKey as AuthKey, wrapKey: d.wrapKey as WrapKey });
      else
        reject(
          new Error(typeof d?.error === "string" ? `Key derivation failed: ${d.error}` : "Key derivation failed."),
        );
    };
    worker.onerror = (event) => {
      finish();
      event.preventDefault();
      reject(new Error("The key-derivation worker could not run."));
    };
    worker.postMessage({
      secret,
      kind,
      context,
      memoryKiB: params.memoryKiB,
      iterations: params.iterations,
      parallelism: params.parallelism,
      salt: Uint8Array.from(params.salt),
    });
  });
}
