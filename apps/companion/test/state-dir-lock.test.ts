// One `veil-companion run` per state folder, and a lock that a killed process or a reused pid
// never leaves standing.
import { spawn } from "node:child_process";
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
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

  it.runIf(process.platform === "linux")(
    "of processes racing for a free folder or for a dead holder's lock, exactly one wins, round after round",
    async () => {
      const { dir, cleanup } = tempDir();
      const signals = join(dir, "..");
      const rounds = 24;
      // Each racer, in every round: waits for the round's start, takes the lock or not, says so,
      // then waits for the round's end and releases what it holds.
      const racer = () => {
        const child = spawn(
          process.execPath,
          [
            "--import",
            "tsx",
            "-e",
            `import("./src/run/state-dir-lock.ts").then(({ lockStateDir }) => {
               const fs = require("node:fs");
               const at = (name) => require("node:path").join(${JSON.stringify(signals)}, name);
               for (let k = 0; k < ${rounds}; k++) {
                 while (!fs.existsSync(at("go" + k)));
                 const lock = lockStateDir(${JSON.stringify(dir)});
                 process.stdout.write(k + ":" + (lock ? "held" : "refused") + "\\n");
                 while (!fs.existsSync(at("end" + k)));
                 lock?.release();
               }
             });`,
          ],
          { cwd: join(import.meta.dirname, ".."), stdio: ["ignore", "pipe", "inherit"] },
        );
        const lines: string[] = [];
        let buffered = "";
        child.stdout.on("data", (d: Buffer) => {
          buffered += String(d);
          const parts = buffered.split("\n");
          buffered = parts.pop() ?? "";
          lines.push(...parts);
        });
        return { child, lines };
      };
      const racers = Array.from({ length: 4 }, racer);
      try {
        const dead = spawnSync(process.execPath, ["-e", "0"]).pid ?? 0;
        for (let k = 0; k < rounds; k++) {
          const round = k % 2 === 0 ? "free" : "dead holder";
          if (round === "dead holder")
            writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: dead, started: "1" }), { mode: 0o600 });
          writeFileSync(join(signals, `go${k}`), "");
          const said = await vi.waitFor(
            () => {
              const all = racers.map(({ lines }) => lines[k]);
              if (all.some((line) => line === undefined)) throw new Error(`round ${k} not answered`);
              return all.map((line) => line?.split(":")[1]);
            },
            { timeout: 15_000, interval: 5 },
          );
          expect(
            said.filter((s) => s === "held"),
            `round ${k} (${round}): ${said.join(", ")}`,
          ).toHaveLength(1);
          writeFileSync(join(signals, `end${k}`), "");
          // Released by its holder; no staged or broken copies left behind.
          await vi.waitFor(() => expect(readdirSync(dir)).toEqual([]), { timeout: 5000, interval: 5 });
        }
      } finally {
        for (const { child } of racers) child.kill("SIGKILL");
        cleanup();
      }
    },
    60_000,
  );

  it("a release removes only its own lock, never one that replaced it", () => {
    const { dir, cleanup } = tempDir();
    try {
      const mine = lockStateDir(dir);
      expect(mine).toBeDefined();
      // Someone moved it away and another holder's lock took the name.
      renameSync(join(dir, RUN_LOCK_FILE), join(dir, "moved"));
      writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: process.ppid, started: null }), { mode: 0o600 });
      mine?.release();
      expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(true);
    } finally {
      cleanup();
    }
  });

  it("a lock that is a symlink, a FIFO or not a holder's JSON is a leftover: taken without following or blocking", () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, RUN_LOCK_FILE);
    const outside = join(dir, "..", "outside");
    writeFileSync(outside, "keep");
    try {
      for (const make of [
        () => symlinkSync(outside, path),
        () => execFileSync("mkfifo", [path]),
        () => writeFileSync(path, "x".repeat(10_000), { mode: 0o600 }),
        () => writeFileSync(path, "", { mode: 0o600 }),
      ]) {
        make();
        const taken = lockStateDir(dir);
        expect(taken).toBeDefined();
        expect(statSync(path).isFile()).toBe(true);
        taken?.release();
        expect(existsSync(path)).toBe(false);
      }
      expect(readFileSync(outside, "utf8")).toBe("keep");
    } finally {
      cleanup();
    }
  });
});
