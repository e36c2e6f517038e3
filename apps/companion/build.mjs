// Bundles the companion into one file, dist/veil-companion.mjs, for install.sh to fetch.
// `node build.mjs <entry> <outfile>` bundles another entry the same way (the benchmarks' scripts
// that start the companion in-process, so they run as the installed companion does).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";

const [entry = "src/main.ts", outfile = "dist/veil-companion.mjs"] = process.argv.slice(2);
const result = await build({
  entryPoints: [entry],
  outfile,
  write: false,
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
// Each file replaced whole (written beside it, then renamed): tests that build while a console
// serves the bundle to an install in another test never hand out half a file.
const replace = (file, content) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.${process.pid}.tmp`, content);
  renameSync(`${file}.${process.pid}.tmp`, file);
};
const bundle = result.outputFiles[0].contents;
const sha = createHash("sha256").update(bundle).digest("hex");
replace(outfile, bundle);
replace(outfile + ".sha256", `${sha}  ${basename(outfile)}\n`);
console.log(`${outfile} ${sha}`);
