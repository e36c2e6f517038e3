// One `veil-companion run` per state folder, and a lock that a killed process or a reused pid
// never leaves standing.
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockStateDir, RUN_LOCK_FILE } from "../src/run/state-dir-lock";

function tempDir(): { dir: string; cleanup: () => void } {
  const parent = mkdtempSync(join(tmpdir(), "veil-lock-"));
  const dir = join(parent, "state");
  mkdirSync(dir, { mode: 0o700 });
  return { dir, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

describe("the state folder lock", () => {
  it("is held by one holder at a time, whatever path names the folder, and free again once released", () => {
    const { dir, cleanup } = tempDir();
    const alias = join(dir, "..", "alias");
    symlinkSync(dir, alias);
    try {
      const first = lockStateDir(dir);
      expect(first).toBeDefined();
      expect(statSync(join(dir, RUN_LOCK_FILE)).mode & 0o777).toBe(0o600);
      expect(lockStateDir(alias)).toBeUndefined();
      first?.release();
      expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(false);
      const again = lockStateDir(dir);
      expect(again).toBeDefined();
      again?.release();
    } finally {
      cleanup();
    }
  });

  it.runIf(process.platform === "linux")(
    "is taken over from a holder killed with SIGKILL, and from a live process that only reuses its pid",
    async () => {
      const { dir, cleanup } = tempDir();
      const holder = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "-e",
          `import("./src/run/state-dir-lock.ts").then(({ lockStateDir }) => {
             process.stdout.write(lockStateDir(${JSON.stringify(dir)}) ? "held\\n" : "refused\\n");
             setInterval(() => undefined, 1000);
           });`,
        ],
        { cwd: join(import.meta.dirname, ".."), stdio: ["ignore", "pipe", "inherit"] },
      );
      try {
        const said = await new Promise<string>((resolve) =>
          holder.stdout.once("data", (d: Buffer) => resolve(String(d))),
        );
        expect(said.trim()).toBe("held");
        expect(lockStateDir(dir)).toBeUndefined();
        const exited = new Promise((resolve) => holder.once("exit", resolve));
        holder.kill("SIGKILL");
        await exited;
        // Its file is still there; its holder is not.
        expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(true);
        const taken = lockStateDir(dir);
        expect(taken).toBeDefined();
        taken?.release();
        // A lock naming a live pid (this process) with another start time: the pid was reused.
        writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: process.pid, started: "1" }), { mode: 0o600 });
        const reused = lockStateDir(dir);
        expect(reused).toBeDefined();
        expect(JSON.parse(readFileSync(join(dir, RUN_LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid });
        reused?.release();
      } finally {
        holder.kill("SIGKILL");
        cleanup();
      }
    },
  );
});
