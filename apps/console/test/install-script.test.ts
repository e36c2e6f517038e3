import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprint, toBase64Url } from "@veil/crypto";
import { auditLog } from "@veil/db";
import {
  COMPANION_API_PREFIX,
  encodeEnrollment,
  type TCompanionInfoResponse,
  type TInstanceListResponse,
} from "@veil/protocol";
import { installLines } from "../src/client/instances/install-line";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { startTestConsole, type TestConsole } from "./helpers/console";
import {
  eventually,
  makeInstance,
  signUpKeyed,
  type BrowserMadeInstance,
  type KeyedAccount,
} from "./helpers/instances";

/*
 * The issue's first test: enrollment end to end from the real install script (prefix mode, no
 * root, no systemd) against the real console on a random port. The console serves install.sh and
 * the companion bundle from this repository, so the bundle is built first, as infra.test.ts in
 * apps/companion does against its stand-in console. One PGlite variant is enough here: the
 * database is not what this file tests.
 */

const REPO = path.resolve(import.meta.dirname, "..", "..", "..");
const INSTALL = path.join(REPO, "infra", "install.sh");
const COMPANION_APP = path.join(REPO, "apps", "companion");
/** The node running this test comes first, so install.sh and the companion run on the same one. */
const PATH = `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`;
/** Install plus enrollment runs Argon2id; a 2-core machine running other suites needs room. */
const SLOW = 180_000;
/** Where prefix mode puts the state folder and the bundle, relative to the prefix. */
const STATE_DIR = path.join("var", "lib", "veil-companion");
const BUNDLE_PATH = path.join("lib", "veil-companion", "veil-companion.mjs");

/** What `veil-companion status --json` prints (the fields this file reads). */
interface StatusJson {
  enrolled: boolean;
  consoleUrl: string | null;
  instanceId: string | null;
  fingerprints: { signer: string; consolePin: string } | null;
  connection: { state: string; pid: number } | null;
}

/**
 * The permission bits of each file in `dir`. The running companion writes its files atomically
 * (a 0600 temp file renamed over the target), so a temp file listed a moment ago may be gone:
 * those are skipped, every file still there is reported.
 */
function fileModes(dir: string): Record<string, number> {
  const modes: Record<string, number> = {};
  for (const f of readdirSync(dir)) {
    const mode = statSync(path.join(dir, f), { throwIfNoEntry: false })?.mode;
    if (mode !== undefined) modes[f] = mode & 0o777;
  }
  return modes;
}

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A word for sh, single-quoted. */
const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** strace, when installed (Debian's package): every execve of the shown line is traced with it. */
const STRACE = existsSync("/usr/bin/strace") ? "/usr/bin/strace" : null;

/** A process this file started, with what it printed so far and its exit code. */
interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Every TCP connection and HTTP request the consoles in this process receive, by local port. */
interface Arrival {
  port: number;
  what: string;
}

describe("install.sh in prefix mode against the real console on a random port", () => {
  const parent = mkdtempSync(path.join(tmpdir(), "veil-install-script-"));
  // The prefix the console's own "no root" line installs into: "$HOME/veil-companion".
  const prefix = path.join(parent, "veil-companion");
  const stateDir = path.join(prefix, STATE_DIR);
  const started: Started[] = [];
  const connections: Arrival[] = [];
  const requests: Arrival[] = [];
  const consoleLog: string[] = [];
  let c: TestConsole;
  let admin: KeyedAccount;
  let inst: BrowserMadeInstance;
  let info: TCompanionInfoResponse;
  let enrollment: string;

  // Node publishes every accepted connection and every HTTP request on these channels. Both
  // consoles run in this process, so the tests see what reached each one without touching src/.
  const onConnection = (message: unknown): void => {
    const { socket } = message as { socket: Socket };
    connections.push({ port: socket.localPort ?? 0, what: `connection from ${socket.remoteAddress ?? "?"}` });
  };
  const onRequest = (message: unknown): void => {
    const { request, server } = message as { request: IncomingMessage; server: Server };
    requests.push({
      port: (server.address() as AddressInfo).port,
      what: `${request.method ?? "?"} ${request.url ?? ""}`,
    });
  };

  /** A bare environment: only PATH comes from this process, so none of its variables reach the install. */
  const ENV = { NODE_ENV: "production" as const, PATH, HOME: parent };

  /** Starts a command with `input` on its stdin; its output is collected, and afterAll kills it if it is still running. */
  const start = (command: string, args: string[], env: Record<string, string>, input?: string): Started => {
    const child = spawn(command, args, { env: { ...ENV, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.stdin.end(input ?? "");
    const exit = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    const s = { child, stdout: () => stdout, stderr: () => stderr, exit };
    started.push(s);
    return s;
  };

  /** Runs install.sh from the repository to the end (asynchronously: the console answering it lives in this process). */
  const run = async (args: string[], env: Record<string, string>): Promise<RunResult> => {
    const s = start("sh", [INSTALL, ...args], env);
    const timer = setTimeout(() => s.child.kill("SIGKILL"), SLOW - 10_000);
    const status = await s.exit;
    clearTimeout(timer);
    return { status, stdout: s.stdout(), stderr: s.stderr() };
  };

  const status = (): StatusJson =>
    JSON.parse(
      execFileSync(path.join(prefix, "bin", "veil-companion"), ["status", "--json"], {
        encoding: "utf8",
        env: ENV,
      }),
    ) as StatusJson;

  /** The instance as the console lists it to its admin (GET /api/instances, what the instances page shows). */
  const listed = async (node: TestConsole, id: string, token: string) => {
    const r = await node.api("/api/instances", { token });
    expect(r.status, r.text).toBe(200);
    return (r.json as TInstanceListResponse).instances.find((i) => i.id === id);
  };

  /** The console's audit trail of enrollment attempts for one instance. */
  const enrollAudit = (node: TestConsole, id: string) =>
    node.running.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "companion.enroll"), eq(auditLog.targetId, id)));

  /** Makes an instance in "browser" code and adds it to the console, as the admin's browser does. */
  const addInstance = async (node: TestConsole, owner: KeyedAccount, name: string) => {
    const made = await makeInstance(owner, name);
    const r = await node.api("/api/instances", { body: made.body, token: owner.token });
    expect(r.status, r.text).toBe(201);
    return made;
  };

  /** The enrollment string the console's add-instance page builds (see enrollInstance in bench/lib/relay-veil.ts). */
  const enrollmentFor = (
    made: BrowserMadeInstance,
    target: { consoleUrl: string; consolePin: string },
    token?: string,
  ) =>
    encodeEnrollment({
      consoleUrl: target.consoleUrl,
      instanceId: made.instanceId,
      token: token ?? made.token,
      signerFingerprint: toBase64Url(fingerprint(admin.identity.publicKey)),
      consolePin: target.consolePin,
    });

  beforeAll(async () => {
    // The console serves apps/companion/dist; install.sh refuses to run without it.
    execFileSync(process.execPath, ["build.mjs"], { cwd: COMPANION_APP, stdio: "ignore" });
    subscribe("net.server.socket", onConnection);
    subscribe("http.server.request.start", onRequest);
    c = await startTestConsole({
      log: (line) => consoleLog.push(line),
      rateLimits: { ...DEFAULT_RATE_LIMITS, login: { perIp: 1000, perAccount: 10, windowSeconds: 60 } },
    });
    admin = await signUpKeyed(c.api, "admin@example.test");
    inst = await addInstance(c, admin, "site one");
    info = (await c.api("/api/companion-info", { token: admin.token })).json as TCompanionInfoResponse;
    enrollment = enrollmentFor(inst, info);
  });

  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
    // A companion started by the piped line is a grandchild, which killing the sh leaves running
    // (and holding the sh's output pipes): find it by the bundle path in its argv, unique to this
    // run's temporary folder, and kill it by its id.
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(path.join(prefix, BUNDLE_PATH)))
          process.kill(Number(pid), "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await Promise.race([Promise.all(started.map((s) => s.exit)), new Promise((r) => setTimeout(r, 10_000))]);
    unsubscribe("net.server.socket", onConnection);
    unsubscribe("http.server.request.start", onRequest);
    await c?.stop();
    rmSync(parent, { recursive: true, force: true });
  });

  it(
    "the console's own line installs, enrolls and runs in the foreground; the console lists the instance online",
    async () => {
      const line = installLines(enrollment).prefix;
      expect(line).toContain(`${info.consoleUrl}/install.sh`);
      // Typed into a shell, not passed to it: the line goes to sh's stdin, so no argv holds it.
      // Every program the line runs is traced (strace: the argv of each execve, however short-lived
      // the process), and every process's argv is also read while it runs, to show that none holds
      // the enrollment string or the token (they travel in VEIL_ENROLL and on stdin).
      const secrets = [enrollment, inst.token];
      const leaks = new Set<string>();
      const watch = setInterval(() => {
        for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
          try {
            const argv = readFileSync(`/proc/${pid}/cmdline`, "latin1");
            if (secrets.some((x) => argv.includes(x))) leaks.add(pid);
          } catch {
            // Gone already.
          }
        }
      }, 5);
      const trace = path.join(parent, "execve.trace");
      const shell = STRACE
        ? start(
            STRACE,
            ["-f", "-qq", "--seccomp-bpf", "-e", "trace=execve", "-s", "65536", "-o", trace, "sh"],
            {},
            `${line}\n`,
          )
        : start("sh", [], {}, `${line}\n`);
      if (!STRACE) console.warn("[install-script] strace is not installed: argv is only sampled from /proc");
      try {
        await eventually(
          async () => (await listed(c, inst.instanceId, admin.token))?.presence.online === true,
          SLOW - 30_000,
          "the instance listed online",
        );
      } catch (error) {
        throw new Error(`${String(error)}\n${shell.stderr()}`, { cause: error });
      } finally {
        clearInterval(watch);
      }
      expect([...leaks]).toEqual([]);
      // The script, the bundle and its checksum came from this console, and the enrollment talked to it.
      const fetched = requests.filter((r) => r.port === c.running.httpsPort).map((r) => r.what);
      expect(fetched).toEqual(
        expect.arrayContaining([
          "GET /install.sh",
          "GET /companion/veil-companion.mjs",
          "GET /companion/veil-companion.mjs.sha256",
          `GET ${COMPANION_API_PREFIX}/instances/${inst.instanceId}/kdf`,
          `POST ${COMPANION_API_PREFIX}/instances/${inst.instanceId}/enroll`,
        ]),
      );

      const shown = await listed(c, inst.instanceId, admin.token);
      expect(shown?.enrolledAt).not.toBeNull();
      expect(shown?.presence).toMatchObject({ online: true, companionVersion: expect.any(String) as unknown });
      expect(shown?.presence.address).toMatch(/127\.0\.0\.1/);
      expect((await enrollAudit(c, inst.instanceId)).map((a) => a.outcome)).toEqual(["success"]);

      expect(statSync(stateDir).mode & 0o777).toBe(0o700);
      const modes = fileModes(stateDir);
      expect(Object.keys(modes)).toContain("secrets.json");
      for (const [f, mode] of Object.entries(modes)) expect(mode, f).toBe(0o600);

      expect(status()).toMatchObject({
        enrolled: true,
        instanceId: inst.instanceId,
        consoleUrl: info.consoleUrl,
        fingerprints: {
          consolePin: info.consolePin,
          signer: Buffer.from(fingerprint(admin.identity.publicKey)).toString("hex"),
        },
      });
      await eventually(() => status().connection?.state === "connected", 15_000, "status connected");

      // Stop the foreground companion; the line's pipeline ends with its exit code.
      const pid = status().connection?.pid;
      expect(pid).toEqual(expect.any(Number));
      process.kill(pid ?? 0, "SIGTERM");
      expect(await shell.exit, shell.stderr()).toBe(0);
      if (STRACE) {
        const execs = readFileSync(trace, "utf8")
          .split("\n")
          .filter((l) => l.includes("execve("));
        // The trace saw the line's programs: curl, the checksum, and the companion's enroll and run.
        expect(execs.some((l) => l.includes('"curl"'))).toBe(true);
        expect(execs.some((l) => l.includes("veil-companion.mjs") && l.includes('"enroll"'))).toBe(true);
        expect(execs.some((l) => l.includes("veil-companion.mjs") && l.includes('"run"'))).toBe(true);
        for (const secret of secrets) expect(execs.filter((l) => l.includes(secret))).toEqual([]);
      }
      await eventually(
        async () => (await listed(c, inst.instanceId, admin.token))?.presence.online === false,
        15_000,
        "the instance listed offline",
      );
      for (const text of [shell.stdout(), shell.stderr(), ...consoleLog]) {
        expect(text).not.toContain(enrollment);
        expect(text).not.toContain(inst.token);
      }
    },
    SLOW,
  );

  it(
    "is idempotent: a second run (with or without VEIL_ENROLL) keeps the enrollment, and the companion comes back online",
    async () => {
      const before = readFileSync(path.join(stateDir, "secrets.json"), "utf8");
      const shown = await listed(c, inst.instanceId, admin.token);
      // The first test stopped its companion: coming back online below is this run's doing.
      expect(shown?.presence.online).toBe(false);
      const enrolledAt = shown?.enrolledAt;
      expect(enrolledAt).toEqual(expect.any(String));

      const again = await run(["--prefix", prefix, "--no-start"], { VEIL_ENROLL: enrollment });
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/already enrolled/);
      const bare = await run(["--prefix", prefix, "--no-start"], {});
      expect(bare.status, bare.stderr).toBe(0);
      expect(bare.stderr).toMatch(/keeping the existing enrollment/);

      expect(readFileSync(path.join(stateDir, "secrets.json"), "utf8")).toBe(before);
      expect(statSync(stateDir).mode & 0o777).toBe(0o700);
      for (const [f, mode] of Object.entries(fileModes(stateDir))) expect(mode, f).toBe(0o600);
      // The console saw no second enrollment: one success in its audit trail, same enrolledAt.
      expect((await enrollAudit(c, inst.instanceId)).map((a) => a.outcome)).toEqual(["success"]);
      expect((await listed(c, inst.instanceId, admin.token))?.enrolledAt).toBe(enrolledAt);

      // Started again with what it kept (no VEIL_ENROLL), it comes back online.
      const foreground = start("sh", [INSTALL, "--prefix", prefix], {});
      await eventually(
        async () => (await listed(c, inst.instanceId, admin.token))?.presence.online === true,
        SLOW - 60_000,
        "the instance listed online again",
      );
      await eventually(() => status().connection?.state === "connected", 15_000, "status connected");
      // install.sh execs the companion, so the sh this test started is the companion now.
      expect(status().connection?.pid).toBe(foreground.child.pid);
      // A second `run` on the same state folder is refused while this one runs.
      const second = start(path.join(prefix, "bin", "veil-companion"), ["run"], {});
      expect(await second.exit).toBe(1);
      // `run` reports even its last error as a JSON line, as the journal keeps its logs.
      const last = JSON.parse(second.stderr().trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
      expect(last).toMatchObject({ level: "error", msg: "stopped on an error" });
      expect(last.error).toMatch(/another veil-companion run is using/);
      expect(status().connection?.state).toBe("connected");
      foreground.child.kill("SIGTERM");
      expect(await foreground.exit, foreground.stderr()).toBe(0);
      expect(foreground.stderr()).not.toContain(inst.token);
    },
    SLOW,
  );

  it(
    "a token that is wrong for the instance is refused with a clear error and enrolls nothing",
    async () => {
      const victim = await addInstance(c, admin, "site two");
      const other = await addInstance(c, admin, "site three");
      // The second instance's token with the first's id: a real token, just not this instance's.
      const wrong = enrollmentFor(victim, info, other.token);
      const dir = path.join(parent, "bad-token");
      const r = await run(["--prefix", dir, "--no-start"], { VEIL_ENROLL: wrong });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/the console refused the token/);
      expect(r.stderr).toMatch(/nothing was enrolled/);
      expect(r.stderr).not.toContain(other.token);
      expect(readdirSync(path.join(dir, STATE_DIR))).toEqual([]);
      // The real console turned the token away and recorded why; the instance stays unenrolled.
      const audits = await enrollAudit(c, victim.instanceId);
      expect(audits.map((a) => [a.outcome, a.details.reason])).toEqual([["failure", "wrong_auth_key"]]);
      const shown = await listed(c, victim.instanceId, admin.token);
      expect(shown?.enrolledAt).toBeNull();
      expect(shown?.presence.online).toBe(false);
    },
    SLOW,
  );

  it(
    "a wrong certificate pin (a second console with its own certificate) is refused before anything is sent",
    async () => {
      const second = await startTestConsole({ log: (line) => consoleLog.push(`second: ${line}`) });
      try {
        expect(second.running.certificate.spkiPin).not.toBe(c.running.certificate.spkiPin);
        const port = second.running.httpsPort;
        // The second console's address with the first console's pin: what a console that took
        // over the address (or a man in the middle) would face.
        const misdirected = enrollmentFor(inst, { consoleUrl: second.running.url, consolePin: info.consolePin });
        const dir = path.join(parent, "wrong-pin");
        const logged = consoleLog.length;
        const connected = connections.length;
        const r = await run(["--prefix", dir, "--no-start"], { VEIL_ENROLL: misdirected });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/wrong certificate pin/);
        expect(r.stderr).toMatch(/does not match pinned public key/);
        // curl reached the second console (a TCP connection arrived, so the failure is the pin,
        // not an unreachable console) but sent no HTTP request at all: no script, bundle, KDF or
        // token request. The console offers no view of the TLS handshake curl then abandons, so
        // the arrived connection and the empty request list are what this test can observe.
        expect(connections.slice(connected).filter((a) => a.port === port).length).toBeGreaterThan(0);
        expect(requests.filter((a) => a.port === port)).toEqual([]);
        expect(consoleLog.slice(logged)).toEqual([]);
        expect(existsSync(path.join(dir, STATE_DIR))).toBe(false);
        expect(existsSync(path.join(dir, BUNDLE_PATH))).toBe(false);
        expect(r.stderr).not.toContain(inst.token);
      } finally {
        await second.stop();
      }
    },
    SLOW,
  );

  it(
    "the console's system line never gives the string to sudo: a stand-in sudo records its argv and environment, no process has it in either, and install.sh reads it on stdin and enrolls",
    async () => {
      // sudo logs its argv and the variables it passes on (--preserve-env=…, and with
      // log_format=json the command's whole environment): the string must reach neither.
      const made = await addInstance(c, admin, "site behind sudo");
      const secretLine = enrollmentFor(made, info);
      const line = installLines(secretLine).system;
      expect(line).toContain(`${info.consoleUrl}/install.sh`);
      const secrets = [secretLine, made.token, secretLine.slice("veil1_".length)];
      /** Which secrets `text` holds, by name (a failure must not print them). */
      const held = (text: string): string[] =>
        ["the enrollment string", "the token", "the string's payload"].filter((_, i) =>
          text.includes(secrets[i] ?? "?"),
        );
      const dir = path.join(parent, "sudo-line");
      const bin = path.join(dir, "bin");
      const tmp = path.join(dir, "tmp");
      const target = path.join(dir, "veil-companion");
      mkdirSync(bin, { recursive: true });
      mkdirSync(tmp);
      // First on PATH. It records what it got, skips its options as sudo does, and runs the
      // command in prefix mode (no system install from a test), with the line's stdin.
      writeFileSync(
        path.join(bin, "sudo"),
        [
          "#!/bin/sh",
          `printf '%s\\0' "$@" > ${shQuote(path.join(dir, "sudo-argv"))}`,
          `cat /proc/$$/environ > ${shQuote(path.join(dir, "sudo-environ"))}`,
          'while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done',
          `exec "$@" --prefix ${shQuote(target)} --no-start`,
          "",
        ].join("\n"),
        { mode: 0o755 },
      );
      // Every process's argv and (where readable) environment, sampled while the line runs.
      const leaks = new Set<string>();
      const watch = setInterval(() => {
        for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
          for (const what of ["cmdline", "environ"]) {
            try {
              const text = readFileSync(`/proc/${pid}/${what}`, "latin1");
              for (const name of held(text)) leaks.add(`${name} in /proc/${pid}/${what}`);
            } catch {
              // Gone already, or not ours to read.
            }
          }
        }
      }, 5);
      const trace = path.join(dir, "execve.trace");
      const env = { PATH: `${bin}:${PATH}`, TMPDIR: tmp };
      // -v: each execve with its environment as well as its argv.
      const shell = STRACE
        ? start(
            STRACE,
            ["-f", "-qq", "-v", "--seccomp-bpf", "-e", "trace=execve", "-s", "65536", "-o", trace, "sh"],
            env,
            `${line}\n`,
          )
        : start("sh", [], env, `${line}\n`);
      const timer = setTimeout(() => shell.child.kill("SIGKILL"), SLOW - 10_000);
      const code = await shell.exit;
      clearTimeout(timer);
      clearInterval(watch);

      // sudo ran `sh <the downloaded file>`, with nothing secret in its argv or its environment.
      const sudoArgv = readFileSync(path.join(dir, "sudo-argv"), "latin1").split("\0").slice(0, -1);
      const sudoEnv = readFileSync(path.join(dir, "sudo-environ"), "latin1");
      expect(held(sudoEnv), "in sudo's environment").toEqual([]);
      expect(held(sudoArgv.join(" ")), "in sudo's argv").toEqual([]);
      expect(sudoEnv).not.toContain("VEIL_ENROLL");
      expect(sudoEnv).toContain(`TMPDIR=${tmp}`);
      expect(sudoArgv).toEqual(["sh", expect.stringMatching(new RegExp(`^${tmp}/`)) as unknown]);
      expect([...leaks]).toEqual([]);
      expect(code, shell.stderr()).toBe(0);
      // The downloaded script is gone.
      expect(readdirSync(tmp)).toEqual([]);

      // Yet install.sh got the string (on stdin) and enrolled with it against this console.
      const enrolled = JSON.parse(
        execFileSync(path.join(target, "bin", "veil-companion"), ["status", "--json"], { encoding: "utf8", env: ENV }),
      ) as StatusJson;
      expect(enrolled).toMatchObject({ enrolled: true, instanceId: made.instanceId, consoleUrl: info.consoleUrl });
      expect((await enrollAudit(c, made.instanceId)).map((a) => a.outcome)).toEqual(["success"]);
      if (STRACE) {
        const execs = readFileSync(trace, "utf8")
          .split("\n")
          .filter((l) => l.includes("execve("));
        expect(execs.some((l) => l.includes(path.join(bin, "sudo")))).toBe(true);
        expect(execs.some((l) => l.includes('"curl"'))).toBe(true);
        expect(execs.some((l) => l.includes("veil-companion.mjs") && l.includes('"enroll"'))).toBe(true);
        // No execve of the whole run, sudo's included, carries a secret in its argv or environment.
        expect(execs.flatMap(held)).toEqual([]);
      }
      expect(held(shell.stdout() + shell.stderr())).toEqual([]);

      const removed = await run(["uninstall", "--prefix", target], {});
      expect(removed.status, removed.stderr).toBe(0);
      expect(existsSync(target)).toBe(false);
    },
    SLOW,
  );

  it(
    "uninstall removes everything",
    async () => {
      const r = await run(["uninstall", "--prefix", prefix], {});
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(prefix)).toBe(false);
    },
    SLOW,
  );
});
