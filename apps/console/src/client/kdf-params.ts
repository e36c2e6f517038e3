/**
 * Argon2id parameters between the wire and @veil/crypto. The console stores an account's
 * params, so a malicious console could serve weak ones to make the auth key it captures cheap
 * to brute-force. `checkServedParams` refuses anything outside @veil/crypto's floor and ceiling
 * (assertKdfParams) BEFORE any derivation starts and before anything is sent.
 */
import {
  DEFAULT_KDF,
  KDF_CEILING,
  KDF_FLOOR,
  fromBase64Url,
  generateKdfParams,
  kdfParams,
  toBase64Url,
  type KdfParams,
} from "@veil/crypto";
import type { TKdfParams } from "@veil/protocol";

/** The console served parameters outside the accepted range: nothing was derived or sent. */
export class KdfPolicyError extends Error {
  constructor(detail: string) {
    super(
      `This console asked for key-derivation settings outside what Veil accepts (${detail}). ` +
        "Nothing was derived or sent. The console may be misconfigured or compromised — contact its administrator.",
    );
    this.name = "KdfPolicyError";
  }
}

function describeRange(p: TKdfParams): string {
  const checks: readonly [string, number, number, number, string][] = [
    ["memory", p.memoryKiB, KDF_FLOOR.memoryKiB, KDF_CEILING.memoryKiB, " KiB"],
    ["passes", p.iterations, KDF_FLOOR.iterations, KDF_CEILING.iterations, ""],
    ["parallelism", p.parallelism, KDF_FLOOR.parallelism, KDF_CEILING.parallelism, ""],
  ];
  for (const [name, value, min, max, unit] of checks) {
    if (value < min) return `${name} ${value}${unit}, below the minimum of ${min}${unit}`;
    if (value > max) return `${name} ${value}${unit}, above the maximum of ${max}${unit}`;
  }
  return "malformed parameters";
}

/** Wire params (already schema-parsed) → checked KdfParams; throws KdfPolicyError if out of range. */
export function checkServedParams(wire: TKdfParams): KdfParams {
  try {
    return kdfParams({
      memoryKiB: wire.memoryKiB,
      iterations: wire.iterations,
      parallelism: wire.parallelism,
      salt: fromBase64Url(wire.salt),
    });
  } catch {
    throw new KdfPolicyError(describeRange(wire));
  }
}

/** KdfParams → what the console stores. */
export function paramsToWire(p: KdfParams): TKdfParams {
  return {
    alg: "argon2id",
    memoryKiB: p.memoryKiB,
    iterations: p.iterations,
    parallelism: p.parallelism,
    salt: toBase64Url(p.salt),
  };
}

/** Fresh default params with a new salt (sign-up, password change). */
export function freshParams(): KdfParams {
  return generateKdfParams();
}

/** Params for a recovery code: the protocol stores only its salt, so the cost is the default. */
export function recoveryParams(saltB64u: string): KdfParams {
  return kdfParams({ ...DEFAULT_KDF, salt: fromBase64Url(saltB64u) });
}

/** "64 MiB, 3 passes" for the progress indicator. */
export function describeCost(p: KdfParams): string {
  return `${Math.round(p.memoryKiB / 1024)} MiB, ${p.iterations} pass${p.iterations === 1 ? "" : "es"}`;
}
