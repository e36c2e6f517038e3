// install.sh writes the prefix and node's path into the wrapper script and the unit's ExecStart
// unquoted there: a path that would need quoting is refused before anything is created.
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
  it.each(["with space", "a$(touch pwned)", "back`tick`", 'quote"d', "it's", "back\\slash"])(
    "refuses --prefix …/%s and creates nothing",
    (name) => {
      const prefix = join(work, name);
      const run = install(["--prefix", prefix]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/--prefix .*use a folder whose path has only letters, digits/);
      expect(existsSync(prefix)).toBe(false);
      expect(existsSync(join(work, "pwned"))).toBe(false);
    },
  );

  it("refuses a node whose path has a space, before fetching anything", () => {
    const bin = join(work, "node dir");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    const prefix = join(work, "plain");
    const run = install(["--prefix", prefix], `${bin}:/usr/bin:/bin`);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/Node\.js at .*node dir\/node: its path has a character/);
    expect(existsSync(prefix)).toBe(false);
  });
});
