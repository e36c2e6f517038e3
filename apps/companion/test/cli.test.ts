// The command line as an operator and a service manager meet it: the bundled `veil-companion`,
// run as a process, its exit codes, its stdout and its log lines.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { PassThrough } from "node:stream";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { readEnrollment, type EnrollmentInput } from "../src/cli/read-enrollment";
import { readStatus } from "../src/cli/status-command";
import { lockStateDir, RUN_LOCK_FILE } from "../src/run/state-dir-lock";
import { lockHolder } from "../src/state/lock-file";
import { StateStore } from "../src/state/state-store";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto } from "./harness/companion";
import { makeAccount, makeInstance } from "./harness/fixtures";
import { waitUntil } from "./harness/browser";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

const APP = resolve(import.meta.dirname, "..");
const isRoot = process.getuid?.() === 0;
/** The unprivileged user the root-only tests run the command as (a system layout's service user). */
const NOBODY = 65534;

describe("veil-companion as a process", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  // Traversable by everyone: the service-user tests run the bundle from here.
  const work = mkdtempSync(join(tmpdir(), "veil-cli-"));
  chmodSync(work, 0o755);
  const bundle = join(work, "veil-companion.mjs");
  const template = join(work, "template");
  const children: ChildProcess[] = [];
  let copies = 0;

  beforeAll(async () => {
    execFileSync(process.execPath, ["build.mjs", "src/main.ts", bundle], { cwd: APP, stdio: "ignore" });
    await consoleServer.start();
    const instance = await makeInstance(makeAccount(), "cli");
    consoleServer.instances.set(instance.instanceId, instance.record);
    await enrollInto(template, instance.enrollment(consoleServer.url, cert.pin), captureLogger().logger);
  });

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await consoleServer.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A fresh copy of the enrolled state folder (0700, files 0600, as enrollment left them). */
  const enrolledCopy = (): string => {
    const dir = join(work, `state-${++copies}`);
    cpSync(template, dir, { recursive: true });
    chmodSync(dir, 0o700);
    return dir;
  };

  const cli = (args: string[], stateDir: string, env: Record<string, string> = {}, uid?: number) =>
    spawnSync(process.execPath, [bundle, ...args], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", VEIL_STATE_DIR: stateDir, ...env },
      ...(uid === undefined ? {} : { uid, gid: uid, cwd: work }),
    });

  /** `veil-companion run` in the background (no device side: no fixed ports). */
  const startRun = (stateDir: string, nodeArgs: string[] = []) => {
    const child = spawn(process.execPath, [...nodeArgs, bundle, "run"], {
      env: { PATH: process.env.PATH ?? "", VEIL_STATE_DIR: stateDir, VEIL_DEVICES: "off" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
    return { closed, stderr: () => stderr };
  };

  /** Every stderr line is one JSON object (no stack trace, no bare text). */
  const jsonLines = (text: string): Record<string, unknown>[] =>
    text
      .trim()
      .split("\n")
      .map((line) => {
        expect(() => JSON.parse(line) as unknown, line).not.toThrow();
        return JSON.parse(line) as Record<string, unknown>;
      });

  it("run stops with one JSON line, exit 1 and status 'stopped' when secrets.json turns unsafe while connected and the console goes away", async () => {
    const dir = enrolledCopy();
    const run = startRun(dir);
    await waitUntil(() => readStatus(dir).connection?.state === "connected", 20_000, "connected");
    chmodSync(join(dir, "secrets.json"), 0o644);
    await consoleServer.stop();
    try {
      expect(await run.closed).toBe(1);
    } finally {
      await consoleServer.start();
    }
    const lines = jsonLines(run.stderr());
    expect(run.stderr()).not.toMatch(/\n\s+at /);
    expect(lines.filter((l) => l.level === "error")).toEqual([
      expect.objectContaining({
        msg: "stopped: could not connect to the console",
        error: "StatePermissionError",
        message: expect.stringMatching(/secrets\.json has mode 644.*chmod 600/) as unknown,
      }),
    ]);
    // status.json says what happened, and no run holds the folder any more.
    expect(JSON.parse(readFileSync(join(dir, "status.json"), "utf8"))).toMatchObject({
      connection: "stopped",
      lastError: expect.stringMatching(/^StatePermissionError: .*secrets\.json has mode 644/) as unknown,
    });
    expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(false);
    chmodSync(join(dir, "secrets.json"), 0o600);
    expect(readStatus(dir).connection).toMatchObject({ state: "stopped" });
  });

  it.each(["uncaughtException", "unhandledRejection"])(
    "run ends on an error thrown anywhere (%s) with one JSON line and exit 1, releasing its lock",
    async (origin) => {
      const dir = enrolledCopy();
      const signal = join(work, `go-${origin}`);
      const preload = join(work, `throw-${origin}.mjs`);
      const thrower =
        origin === "uncaughtException"
          ? 'throw new TypeError("boom in a timer")'
          : 'void Promise.reject(new TypeError("boom in a promise"))';
      writeFileSync(
        preload,
        `import { existsSync } from "node:fs";
         const t = setInterval(() => {
           if (!existsSync(${JSON.stringify(signal)})) return;
           clearInterval(t);
           ${thrower};
         }, 20);
         t.unref();`,
      );
      const run = startRun(dir, ["--import", preload]);
      await waitUntil(() => lockHolder(join(dir, RUN_LOCK_FILE))?.alive === true, 20_000, "run holds its lock");
      writeFileSync(signal, "");
      expect(await run.closed).toBe(1);
      expect(run.stderr()).not.toMatch(/\n\s+at /);
      expect(jsonLines(run.stderr()).at(-1)).toMatchObject({
        level: "error",
        msg: "stopped on an unexpected error",
        origin,
        error: "TypeError",
        message: origin === "uncaughtException" ? "boom in a timer" : "boom in a promise",
      });
      expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(false);
    },
  );

  it("status --json prints one JSON object on stdout whatever happens; 'not enrolled' exits 4", () => {
    const none = cli(["status", "--json"], join(work, "none"));
    expect(none.status).toBe(4);
    expect(JSON.parse(none.stdout)).toMatchObject({ enrolled: false });
    expect(cli(["status"], join(work, "none")).status).toBe(4);

    // status.json is advisory: unreadable, the connection is "stopped" when no run holds the
    // folder, "unknown" while one does.
    const dir = enrolledCopy();
    writeFileSync(join(dir, "status.json"), "{not json", { mode: 0o600 });
    const corruptStatus = cli(["status", "--json"], dir);
    expect(corruptStatus.status, corruptStatus.stderr).toBe(0);
    expect(JSON.parse(corruptStatus.stdout)).toMatchObject({
      enrolled: true,
      connection: { state: "stopped", lastError: expect.stringMatching(/status\.json is unreadable/) as unknown },
    });
    const lock = lockStateDir(dir);
    try {
      expect(JSON.parse(cli(["status", "--json"], dir).stdout)).toMatchObject({
        connection: { state: "unknown", pid: process.pid, updatedAt: null },
      });
      expect(cli(["status"], dir).stdout).toMatch(/^connection {3}unknown \(last error: status\.json is unreadable/m);
    } finally {
      lock?.release();
    }

    // A corrupt config.json: an error object, and advice an operator can follow.
    writeFileSync(join(dir, "config.json"), "{}", { mode: 0o600 });
    const corruptConfig = cli(["status", "--json"], dir);
    expect(corruptConfig.status).toBe(1);
    expect(corruptConfig.stderr).toBe("");
    expect(JSON.parse(corruptConfig.stdout)).toEqual({
      error: {
        code: "state_corrupt",
        message: `${join(dir, "config.json")} is not a valid companion state file: restore it from a backup, or erase this enrollment (veil-companion uninstall --yes) and enroll again`,
      },
    });
    chmodSync(dir, 0o755);
    expect(JSON.parse(cli(["status", "--json"], dir).stdout)).toMatchObject({
      error: { code: "state_unsafe", message: expect.stringContaining(`chmod 700 '${dir}'`) as unknown },
    });
    const badEnv = cli(["status", "--json"], dir, { VEIL_LOG_LEVEL: "loud" });
    expect(badEnv.status).toBe(1);
    expect(JSON.parse(badEnv.stdout)).toEqual({
      error: { code: "invalid_environment", message: "invalid environment: check VEIL_LOG_LEVEL" },
    });
  });

  it("status judges a run alive by its run.lock holder (pid and start time), not by a pid that happens to be alive", () => {
    const dir = enrolledCopy();
    const session = { sessionId: "s".repeat(22), accountId: "a", role: "viewer", openedAt: 1 };
    new StateStore(dir).saveStatus({
      pid: process.pid, // alive, but holding no lock: not a run
      updatedAt: Date.now(),
      connection: "connected",
      connectedSince: Date.now(),
      reconnectAttempt: 0,
      lastError: null,
      sessions: [session],
    });
    expect(readStatus(dir)).toMatchObject({ connection: { state: "stopped", stale: true }, sessions: [] });
    const lock = lockStateDir(dir);
    expect(readStatus(dir)).toMatchObject({ connection: { state: "connected", stale: false }, sessions: [session] });
    lock?.release();
    // A lock naming this pid with another start time: the pid was reused, the run is gone.
    writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: process.pid, started: "1" }), { mode: 0o600 });
    expect(readStatus(dir).connection).toMatchObject({ state: "stopped" });
  });

  it("uninstall refuses while a run holds the folder, says how to stop it, and erases once it is stopped", () => {
    const dir = enrolledCopy();
    const secrets = readFileSync(join(dir, "secrets.json"), "utf8");
    const lock = lockStateDir(dir);
    try {
      const refused = cli(["uninstall", "--yes"], dir);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toBe(
        `veil-companion: a veil-companion run (pid ${process.pid}) is using ${dir}: stop it first (systemctl stop veil-companion, or Ctrl-C in the terminal running it), then run 'veil-companion uninstall --yes' again\n`,
      );
      expect(readFileSync(join(dir, "secrets.json"), "utf8")).toBe(secrets);
    } finally {
      lock?.release();
    }
    const erased = cli(["uninstall", "--yes"], dir);
    expect(erased.status, erased.stderr).toBe(0);
    expect(erased.stdout).toBe("enrollment erased\n");
    expect(existsSync(dir)).toBe(false);
  });

  /** `veil-companion enroll` with the string in VEIL_ENROLL, run to its end. */
  const enrollProcess = (stateDir: string, line: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolveRun) => {
      const p = spawn(process.execPath, [bundle, "enroll"], {
        env: { PATH: process.env.PATH ?? "", VEIL_STATE_DIR: stateDir, VEIL_ENROLL: line },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(p);
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      p.once("close", (status) => resolveRun({ status, stdout, stderr }));
    });

  it("two enrollments of different instances into one empty folder at once: one succeeds, the other is refused, and the folder holds the one that said it succeeded", async () => {
    const first = await makeInstance(makeAccount(), "race one");
    const second = await makeInstance(makeAccount(), "race two");
    consoleServer.instances.set(first.instanceId, first.record);
    consoleServer.instances.set(second.instanceId, second.record);
    const dir = join(work, "race");
    const results = await Promise.all([
      enrollProcess(dir, first.enrollment(consoleServer.url, cert.pin)),
      enrollProcess(dir, second.enrollment(consoleServer.url, cert.pin)),
    ]);
    const succeeded = results.filter((r) => r.status === 0);
    expect(succeeded.map((r) => r.stdout)).toEqual([expect.stringMatching(/^enrolled as [0-9a-f-]{36}\n$/)]);
    const refused = results.find((r) => r.status !== 0);
    expect(refused?.status).toBe(1);
    expect(refused?.stderr).toMatch(
      /another veil-companion command \(pid \d+\) is using .* wait for it to end|already enrolled as instance/,
    );
    const winner = /enrolled as (\S+)/.exec(succeeded[0]?.stdout ?? "")?.[1];
    expect(readStatus(dir)).toMatchObject({ enrolled: true, instanceId: winner });
    expect(readdirSync(dir).filter((f) => f.endsWith(".lock"))).toEqual([]);
  });

  /** A stand-in terminal: a stream that says it is a TTY and records its raw-mode switches. */
  const fakeTerminal = () => {
    const input = new PassThrough() as PassThrough & EnrollmentInput;
    const modes: boolean[] = [];
    input.isTTY = true;
    input.isRaw = false;
    input.setRawMode = (mode: boolean) => {
      modes.push(mode);
      input.isRaw = mode;
      return input;
    };
    let shown = "";
    const prompt = new PassThrough();
    prompt.on("data", (d: Buffer) => (shown += d.toString()));
    return { input, modes, prompt, shown: () => shown };
  };

  it("on a terminal, reads the string with echo off (raw mode before the prompt, restored after), and Ctrl-C stops with the mode restored", async () => {
    const instance = await makeInstance(makeAccount(), "typed");
    const line = instance.enrollment(consoleServer.url, cert.pin);
    const term = fakeTerminal();
    const read = readEnrollment(undefined, term.input, term.prompt);
    // Raw (no echo) already when the prompt asks for the string.
    expect(term.modes).toEqual([true]);
    expect(term.shown()).toMatch(/it is not shown/);
    // Pasted in two pieces, with a typo erased, then Enter (a carriage return in raw mode).
    term.input.write(line.slice(0, 20) + "x\u007f");
    term.input.write(line.slice(20) + "\r");
    expect((await read).instanceId).toBe(instance.instanceId);
    expect(term.modes).toEqual([true, false]);
    expect(term.shown()).not.toContain(line.slice(6, 30));

    const interrupted = fakeTerminal();
    const stopped = readEnrollment(undefined, interrupted.input, interrupted.prompt);
    interrupted.input.write("veil1_AAAA\u0003");
    await expect(stopped).rejects.toThrow(/interrupted \(Ctrl-C\): nothing was enrolled/);
    expect(interrupted.modes).toEqual([true, false]);
  });

  it.runIf(existsSync("/usr/bin/script"))(
    "enroll on a real pseudo-terminal (script) does not echo the string it reads",
    async () => {
      const instance = await makeInstance(makeAccount(), "pty");
      consoleServer.instances.set(instance.instanceId, instance.record);
      const line = instance.enrollment(consoleServer.url, cert.pin);
      const dir = join(work, "pty");
      const p = spawn("script", ["-qfec", `${process.execPath} ${bundle} enroll`, "/dev/null"], {
        env: { PATH: process.env.PATH ?? "", VEIL_STATE_DIR: dir, TERM: "dumb" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      children.push(p);
      let screen = "";
      p.stdout.on("data", (d: Buffer) => (screen += d.toString()));
      p.stderr.on("data", (d: Buffer) => (screen += d.toString()));
      const closed = new Promise<number | null>((r) => p.once("close", (code) => r(code)));
      await vi.waitFor(() => expect(screen).toMatch(/Paste the enrollment string/), { timeout: 15_000 });
      p.stdin.write(`${line}\r`);
      await vi.waitFor(() => expect(screen).toMatch(/enrolled as|veil-companion:/), { timeout: 30_000 });
      p.stdin.end();
      await closed;
      expect(screen).toContain(`enrolled as ${instance.instanceId}`);
      expect(screen).not.toContain(line.slice(6, 40));
    },
  );

  it.runIf(isRoot)(
    "system layout: the service user's uninstall erases its folder inside root's and leaves it empty; another user is told whose it is",
    () => {
      const varLib = join(work, "var-lib");
      mkdirSync(varLib, { mode: 0o755 });
      const dir = join(varLib, "veil-companion");
      cpSync(template, dir, { recursive: true });
      chmodSync(dir, 0o700);
      for (const path of [dir, ...readdirSync(dir).map((f) => join(dir, f))]) chownSync(path, NOBODY, NOBODY);

      // Root's own folder, read by the service user: named, and no chown to the caller.
      const foreign = enrolledCopy();
      const told = cli(["status", "--json"], foreign, {}, NOBODY);
      expect(told.status).toBe(1);
      const { error } = JSON.parse(told.stdout) as { error: { code: string; message: string } };
      expect(error.code).toBe("state_unsafe");
      expect(error.message).toMatch(
        /owned by the user root \(uid 0\), not by you \(uid 65534\)\. Run the command as root/,
      );
      expect(error.message).not.toMatch(/chown/);

      const r = cli(["uninstall", "--yes"], dir, {}, NOBODY);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`enrollment erased; empty folder ${dir} left (its parent is not writable by this user)\n`);
      expect(readdirSync(dir)).toEqual([]);
    },
  );
});
