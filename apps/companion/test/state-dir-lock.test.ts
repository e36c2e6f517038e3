// One `veil-companion run` per state folder, and a lock that a killed process never leaves behind.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockStateDir } from "../src/run/state-dir-lock";

describe.runIf(process.platform === "linux")("the state folder lock", () => {
  it("is held by one holder at a time, whatever path names the folder, and free again once released", async () => {
    const parent = mkdtempSync(join(tmpdir(), "veil-lock-"));
    const dir = join(parent, "state");
    mkdirSync(dir);
    symlinkSync(dir, join(parent, "alias"));
    try {
      const first = await lockStateDir(dir);
      expect(first).toBeDefined();
      expect(await lockStateDir(join(parent, "alias"))).toBeUndefined();
      const other = await lockStateDir(parent);
      expect(other).toBeDefined();
      await first?.release();
      const again = await lockStateDir(dir);
      expect(again).toBeDefined();
      await again?.release();
      await other?.release();
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("is freed by the kernel when its holder is killed with SIGKILL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "veil-lock-"));
    const holder = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `import("./src/run/state-dir-lock.ts").then(async ({ lockStateDir }) => {
           const lock = await lockStateDir(${JSON.stringify(dir)});
           process.stdout.write(lock ? "held\\n" : "refused\\n");
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
      expect(await lockStateDir(dir)).toBeUndefined();
      const exited = new Promise((resolve) => holder.once("exit", resolve));
      holder.kill("SIGKILL");
      await exited;
      const taken = await lockStateDir(dir);
      expect(taken).toBeDefined();
      await taken?.release();
    } finally {
      holder.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
