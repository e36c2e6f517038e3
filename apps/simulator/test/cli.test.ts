import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startInformReceiver, waitFor } from "./helpers/inform-receiver";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const TSX = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));

function run(args: string[]) {
  const child = spawn(TSX, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, out, exited };
}

describe("CLI", () => {
  it("refuses invalid options with exit code 2", async () => {
    const { out, exited } = run(["--devices", "0"]);
    expect(await exited).toBe(2);
    expect(out.stderr).toContain("invalid options");
  });

  it("runs devices against an inform URL and stops cleanly on SIGINT", async () => {
    const rx = await startInformReceiver(4);
    const { child, out, exited } = run([
      "--devices",
      "3",
      "--seed",
      "5",
      "--inform-url",
      rx.url,
      "--no-admin",
      "--discovery",
      "off",
      "--time-scale",
      "0.05",
      "--fault-rate",
      "0",
    ]);
    try {
      await waitFor(() => out.stdout.includes("veil-simulator: 3 devices"), 15_000, "start line");
      await waitFor(
        () => rx.devices.size === 3 && [...rx.devices.values()].every((d) => d.informsAuthkey >= 1),
        15_000,
        "informs",
      );
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await rx.close();
    }
  });
});
