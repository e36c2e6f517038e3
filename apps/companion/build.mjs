// Bundles the companion into one file, dist/veil-companion.mjs, for install.sh to fetch.
// `node build.mjs <entry> <outfile>` bundles another entry the same way (the benchmarks' scripts
// that start the companion in-process, so they run as the installed companion does).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const [entry = "src/main.ts", outfile = "dist/veil-companion.mjs"] = process.argv.slice(2);
await build({
  entryPoints: [entry],
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
writeFileSync(outfile + ".sha256", `${sha}  ${basename(outfile)}\n`);
console.log(`${outfile} ${sha}`);
