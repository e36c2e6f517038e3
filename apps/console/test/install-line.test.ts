import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeEnrollment } from "@veil/protocol";
import { installLines } from "../src/client/instances/install-line";

/** zsh, when installed: the shell whose globbing an unquoted IPv6 URL trips. */
const ZSH = ["/usr/bin/zsh", "/bin/zsh"].find((p) => spawnSync(p, ["-c", "true"]).status === 0);

const enrollmentFor = (consoleUrl: string): string =>
  encodeEnrollment({
    consoleUrl,
    instanceId: "0f0e0d0c-0b0a-4908-8706-050403020100",
    token: "A".repeat(43),
    signerFingerprint: `${"B".repeat(42)}A`,
    consolePin: `sha256//${"C".repeat(42)}A=`,
  });

if (ZSH === undefined) console.warn("[install-line] zsh is not installed: the lines run through sh and bash only");

describe("the shown install lines", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "veil-install-line-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // A stand-in curl, first on PATH: records its argv and fails, so nothing after it runs.
  const bin = path.join(dir, "bin");
  const argvFile = path.join(dir, "curl-argv");
  mkdirSync(bin);
  writeFileSync(path.join(bin, "curl"), `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvFile}'\nexit 22\n`, { mode: 0o755 });

  const curlArgv = (shell: string, line: string): { argv: string[]; stderr: string } => {
    rmSync(argvFile, { force: true });
    const r = spawnSync(shell, ["-c", line], {
      encoding: "utf8",
      cwd: dir,
      env: { NODE_ENV: "production" as const, PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: dir },
    });
    let argv: string[] = [];
    try {
      argv = readFileSync(argvFile, "utf8").split("\n").slice(0, -1);
    } catch {
      // curl never ran.
    }
    return { argv, stderr: r.stderr };
  };

  for (const shell of ["sh", "bash", ...(ZSH ? [ZSH] : [])]) {
    it(`in ${path.basename(shell)}, both lines hand curl an IPv6 console's URL unchanged`, () => {
      const url = "https://[::1]:8443";
      const lines = installLines(enrollmentFor(url));
      for (const line of [lines.system, lines.prefix]) {
        const { argv, stderr } = curlArgv(shell, line);
        expect(argv, stderr).toContain(`${url}/install.sh`);
        expect(argv).toContain(`sha256//${"C".repeat(42)}A=`);
      }
    });
  }

  it("quotes the URL, and the enrollment string, as single words", () => {
    const { system, prefix } = installLines(enrollmentFor("https://console.example:8443"));
    expect(system).toContain(" -k 'https://console.example:8443/install.sh' -o \"$f\"");
    expect(prefix).toContain(" -k 'https://console.example:8443/install.sh' | VEIL_ENROLL='veil1_");
  });
});
