/**
 * Argon2id, m = 64 MiB, t = 3, p = 1 (the login KDF): hash-wasm (what the browser runs)
 * against a native baseline. The native `argon2` package is not a dependency (its prebuilt
 * binary crashes here); if one was built from source outside the repository, e.g.
 *
 *   mkdir /tmp/argon2-native && cd /tmp/argon2-native && npm init -y &&
 *   npm_config_build_from_source=true npm install argon2 &&
 *   (cd node_modules/argon2 && node /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js rebuild)
 *
 * it is loaded from there (or from $VEIL_BENCH_ARGON2_DIR). scrypt at the same memory
 * (N = 2^16, r = 8: 64 MiB) from node:crypto is always measured as a second reference.
 *
 *   pnpm --filter @veil/bench exec tsx argon2.ts
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { scryptSync } from "node:crypto";
import { ARGON2_PARAMS, hashWasmArgon2id, password, salt } from "./lib/argon2-params";
import { fmt, header, measureAsync, printTable, type Row } from "./lib/measure";

interface NativeArgon2 {
  argon2id: number;
  hash(password: Uint8Array, options: Record<string, unknown>): Promise<Buffer>;
}

function loadNativeArgon2(): NativeArgon2 | undefined {
  // Bench-only knob, read once here; the app reads env through its own validated module.
  const dir = process.env["VEIL_BENCH_ARGON2_DIR"] ?? "/tmp/argon2-native/node_modules/argon2";
  if (!existsSync(join(dir, "package.json"))) return undefined;
  try {
    return createRequire(join(dir, "package.json"))(dir) as NativeArgon2;
  } catch {
    return undefined;
  }
}

const RUNS = 5;

async function main(): Promise<void> {
  header("Argon2id m=64 MiB t=3 p=1");
  const rows: Row[] = [];
  const wasm = await measureAsync(hashWasmArgon2id, RUNS);
  const native = loadNativeArgon2();
  const scrypt = await measureAsync(
    async () => scryptSync(password, salt, 32, { N: 1 << 16, r: 8, p: 1, maxmem: 256 * 1024 * 1024 }),
    RUNS,
  );

  if (native) {
    const nativeHash = (): Promise<Buffer> =>
      native.hash(password, {
        type: native.argon2id,
        memoryCost: ARGON2_PARAMS.memoryKiB,
        timeCost: ARGON2_PARAMS.iterations,
        parallelism: ARGON2_PARAMS.parallelism,
        hashLength: ARGON2_PARAMS.hashLength,
        salt: Buffer.from(salt),
        raw: true,
      });
    if (Buffer.compare(await nativeHash(), await hashWasmArgon2id()) !== 0)
      throw new Error("native argon2 and hash-wasm disagree");
    const nat = await measureAsync(nativeHash, RUNS);
    rows.push(
      {
        operation: "Argon2id 64 MiB t=3 p=1",
        implementation: "argon2 (native, built from source) (baseline)",
        figure: fmt.ms(nat),
        ratio: "1.0×",
      },
      {
        operation: "Argon2id 64 MiB t=3 p=1",
        implementation: "hash-wasm (Node)",
        figure: fmt.ms(wasm),
        ratio: fmt.ratio(wasm, nat),
      },
      {
        operation: "scrypt N=2^16 r=8 p=1 (64 MiB)",
        implementation: "node:crypto scryptSync",
        figure: fmt.ms(scrypt),
        ratio: fmt.ratio(scrypt, nat),
      },
    );
  } else {
    console.log("native argon2 not found: baseline is node:crypto scrypt at equal memory");
    rows.push(
      {
        operation: "scrypt N=2^16 r=8 p=1 (64 MiB)",
        implementation: "node:crypto scryptSync (baseline)",
        figure: fmt.ms(scrypt),
        ratio: "1.0×",
      },
      {
        operation: "Argon2id 64 MiB t=3 p=1",
        implementation: "hash-wasm (Node)",
        figure: fmt.ms(wasm),
        ratio: fmt.ratio(wasm, scrypt),
      },
    );
  }
  printTable(`Argon2id (ms per derivation, median of ${RUNS}, lower is better)`, rows);
}

await main();
