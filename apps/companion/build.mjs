// Bundles the companion into one file, dist/veil-companion.mjs, for install.sh to fetch.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const outfile = "dist/veil-companion.mjs";
await build({
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: false,
  legalComments: "inline",
  // ws probes for these optional native add-ons inside try/catch.
  external: ["bufferutil", "utf-8-validate"],
  banner: {
    js: 'import { createRequire as __veilCreateRequire } from "node:module"; const require = __veilCreateRequire(import.meta.url);',
  },
  logLevel: "warning",
});
const sha = createHash("sha256").update(readFileSync(outfile)).digest("hex");
writeFileSync(outfile + ".sha256", `${sha}  veil-companion.mjs\n`);
console.log(`${outfile} ${sha}`);
