import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

/** A simulator child (lib/sim-child.ts) and what it listens on. */
export interface SimChild {
  readonly child: ChildProcess;
  readonly ubdpPort: number;
  readonly adminPort: number;
  readonly devices: { mac: string; ip: string }[];
}

/** Starts the simulator in a child process with `options` and waits until it listens. */
export function spawnSimulator(options: Record<string, unknown>): Promise<SimChild> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "sim-child.ts"), JSON.stringify(options)],
    { cwd: path.join(import.meta.dirname, ".."), stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once("line", (line) => resolve({ child, ...(JSON.parse(line) as Omit<SimChild, "child">) }));
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}: ${err}`)));
  });
}
