/**
 * Argon2id off the main thread. hash-wasm (through @veil/crypto) allocates the 64 MiB+ memory
 * inside this worker, so the page stays responsive; the worker is terminated after one
 * derivation, which frees that memory. The params are checked again here (assertKdfParams inside
 * deriveMasterKey) as defence in depth; the page has already refused out-of-range ones.
 */
import { kdfParams, splitMasterKey, deriveMasterKey, wipe, type SecretKind } from "@veil/crypto";

interface DeriveRequest {
  readonly secret: string;
  readonly kind: SecretKind;
  /** The identifier the user typed (normalised e-mail), bound into the Argon2id salt. */
  readonly context: string;
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
  readonly salt: Uint8Array;
}

/** The parts of DedicatedWorkerGlobalScope used here (the DOM lib is in scope, not the worker lib). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<DeriveRequest>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

scope.onmessage = (event: MessageEvent<DeriveRequest>) => {
  void (async () => {
    const req = event.data;
    try {
      const params = kdfParams({
        memoryKiB: req.memoryKiB,
        iterations: req.iterations,
        parallelism: req.parallelism,
        salt: req.salt,
      });
      const master = await deriveMasterKey(req.secret, params, req.kind, req.context);
      try {
        const { authKey, wrapKey } = splitMasterKey(master, req.kind);
        scope.postMessage({ ok: true, authKey, wrapKey }, [authKey.buffer, wrapKey.buffer]);
      } finally {
        wipe(master);
      }
    } catch (error) {
      scope.postMessage({ ok: false, error: error instanceof Error ? error.message : "key derivation failed" });
    }
  })();
};
