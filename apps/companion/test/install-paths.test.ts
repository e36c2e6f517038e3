// install.sh writes the prefix and node's path between double quotes in the wrapper script (and
// node's path unquoted into the unit's ExecStart): a path those cannot hold is refused before
// anything is created. (A space is fine in prefix mode: infra.test.ts installs into one.)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const INSTALL = join(import.meta.dirname, "..", "..", "..", "infra", "install.sh");
const work = mkdtempSync(join(tmpdir(), "veil-paths-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const install = (args: string[], path = process.env.PATH ?? "") =>
  spawnSync("sh", [INSTALL, ...args], { input: "", encoding: "utf8", env: { PATH: path, HOME: work } });

describe("install.sh and paths it would have to quote", () => {
  it.each(["a$(touch pwned)", "back`tick`", 'quote"d', "back\\slash", "new\nline", "brace}d"])(
    "refuses --prefix …/%s and creates nothing",
    (name) => {
      const prefix = join(work, name);
      const run = install(["--prefix", prefix]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(
        /use a folder whose path has no double quote, \$, backquote, backslash, \} or newline/,
      );
      expect(existsSync(prefix)).toBe(false);
      expect(existsSync(join(work, "pwned"))).toBe(false);
    },
  );

  it("refuses a node whose path has a $, before fetching anything", () => {
    const bin = join(work, "node$dir");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    const prefix = join(work, "plain");
    const run = install(["--prefix", prefix], `${bin}:/usr/bin:/bin`);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /Node\.js at .*node\$dir\/node: its path has a double quote, \$, backquote, backslash, \}/,
    );
    expect(existsSync(prefix)).toBe(false);
  });
});
