import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fingerprint, fromBase64Url, hashAuthKey, safetyCode, toBase64Url, toHex, type AuthKey } from "@veil/crypto";
import { useNativePrimitives } from "@veil/crypto/node";
import { makeSelfSignedCert } from "./harness/certs";
import { makeAccount, makeInstance, type TestInstance } from "./harness/fixtures";
import { waitUntil } from "./harness/browser";
import { TestConsole } from "./harness/test-console";

/** strace, when installed (Debian's package): the argv-and-environment test records every execve with it. */
const STRACE = existsSync("/usr/bin/strace") ? "/usr/bin/strace" : null;

useNativePrimitives();

const APP = resolve(import.meta.dirname, "..");
const INFRA = resolve(APP, "../../infra");
const INSTALL = join(INFRA, "install.sh");
const BUNDLE = join(APP, "dist/veil-companion.mjs");
/** Where prefix mode puts the state folder and the bundle, relative to the prefix: folders of its own. */
const STATE_DIR = join("var", "lib", "veil-companion");
const LIB_DIR = join("lib", "veil-companion");

/** The unit install.sh writes: the quoted here-document in its unit_template. */
function unitInInstallSh(): string {
  const m = /^unit_template\(\) \{\n {2}cat <<'UNIT'\n([\s\S]*?)^UNIT$/m.exec(readFileSync(INSTALL, "utf8"));
  return m?.[1] ?? "";
}

function hasSystemdAnalyze(): boolean {
  return spawnSync("systemd-analyze", ["--version"], { stdio: "ignore" }).status === 0;
}

describe("systemd unit", () => {
  it.skipIf(!hasSystemdAnalyze())(
    "has a systemd-analyze security exposure of 3.5 or less (without MemoryDenyWriteExecute)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "veil-unit-"));
      const unit = join(dir, "veil-companion.service");
      const text = unitInInstallSh()
        .replace(/@NODE@/g, "/usr/bin/node")
        .replace(/@LIBDIR@/g, "/opt/veil-companion");
      expect(text).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
      execFileSync("sh", ["-c", 'cat > "$1"', "sh", unit], { input: text });
      const out = spawnSync("systemd-analyze", ["security", "--offline=true", "--no-pager", unit], {
        encoding: "utf8",
      });
      rmSync(dir, { recursive: true, force: true });
      const m = /Overall exposure level for veil-companion\.service: ([0-9.]+)/.exec(out.stdout + out.stderr);
      expect(m, out.stdout + out.stderr).not.toBeNull();
      expect(Number(m?.[1])).toBeLessThanOrEqual(3.5);
    },
  );

  // System mode needs root and a running systemd, so this reads the script. Root installs the
  // unit into /etc/systemd/system: it must not come from a console named by anything the service
  // user can write (config.json), nor from beside the script (under `curl … | sh`, "$0" is `sh`,
  // and a file "beside" it would be one in the current folder, which nobody vouched for).
  it("is part of install.sh (infra/veil-companion.service, unchanged): never fetched, never taken from the folder it runs in", () => {
    const script = readFileSync(INSTALL, "utf8");
    expect(unitInInstallSh()).toBe(readFileSync(join(INFRA, "veil-companion.service"), "utf8"));
    const installUnit = /^install_unit\(\) \{\n([\s\S]*?)^\}/m.exec(script)?.[1] ?? "";
    expect(installUnit).toMatch(/^\s*unit_template \| sed /m);
    expect(installUnit).not.toMatch(/fetch|curl|\$0|cp /);
    expect(script).not.toMatch(/veil-companion\.service"|dirname "\$0"/);
  });
});

describe("install.sh in prefix mode against a console on a random port", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const parent = mkdtempSync(join(tmpdir(), "veil-install-"));
  const prefix = join(parent, "companion");
  let instance: TestInstance;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    execFileSync(process.execPath, ["build.mjs"], { cwd: APP, stdio: "ignore" });
    await consoleServer.start();
    consoleServer.files.set("/companion/veil-companion.mjs", BUNDLE);
    consoleServer.files.set("/companion/veil-companion.mjs.sha256", BUNDLE + ".sha256");
    instance = await makeInstance(makeAccount());
    consoleServer.instances.set(instance.instanceId, instance.record);
  });
  afterAll(async () => {
    child?.kill("SIGKILL");
    await consoleServer.stop();
    rmSync(parent, { recursive: true, force: true });
  });

  // Asynchronous on purpose: the console answering the script lives in this same process.
  // stdin: `input` (none by default), then end of file; or "open": a pipe nobody writes or closes.
  const runCommand = (
    command: string,
    args: string[],
    env: Record<string, string>,
    stdin?: { input: string } | "open",
  ): Promise<{ status: number | null; stderr: string; stdout: string }> =>
    new Promise((resolve) => {
      const p = spawn(command, args, {
        env: { PATH: process.env.PATH ?? "", HOME: parent, ...env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      // A run that never reads stdin (VEIL_ENROLL set, or an early refusal) closes it: EPIPE is fine.
      p.stdin.on("error", () => undefined);
      if (stdin !== "open") p.stdin.end(stdin?.input ?? "");
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => p.kill("SIGKILL"), 60_000);
      p.on("close", (status) => {
        clearTimeout(t);
        p.stdin.destroy();
        resolve({ status, stdout, stderr });
      });
    });
  const run = (args: string[], env: Record<string, string>, stdin?: { input: string } | "open") =>
    runCommand("sh", [INSTALL, ...args], env, stdin);
  const statusOf = (dir: string): { enrolled: boolean; instanceId: string | null } =>
    JSON.parse(execFileSync(join(dir, "bin", "veil-companion"), ["status", "--json"], { encoding: "utf8" })) as {
      enrolled: boolean;
      instanceId: string | null;
    };

  it("refuses a wrong certificate pin before fetching anything", async () => {
    const other = makeSelfSignedCert("other");
    const r = await run(["--prefix", join(parent, "wrong-pin"), "--no-start"], {
      VEIL_ENROLL: instance.enrollment(consoleServer.url, other.pin),
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/wrong certificate pin/);
    expect(consoleServer.requests).toEqual([]);
    expect(existsSync(join(parent, "wrong-pin", STATE_DIR))).toBe(false);
  });

  it("refuses an old Node.js and an unsupported platform before fetching anything", async () => {
    // Stand-ins first on PATH: a Node that says it is 18, a uname that says SunOS.
    const fakes = mkdtempSync(join(parent, "fakes-"));
    const stub = (name: string, body: string): void => {
      writeFileSync(join(fakes, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(fakes, name), 0o755);
    };
    const before = consoleServer.requests.length;
    const env = { VEIL_ENROLL: instance.enrollment(consoleServer.url, cert.pin) };
    stub("node", 'case "$1" in -p) echo 18 ;; --version) echo v18.20.0 ;; *) exit 1 ;; esac');
    const oldNode = await run(["--prefix", join(parent, "old-node")], {
      ...env,
      PATH: `${fakes}:${process.env.PATH ?? ""}`,
    });
    expect(oldNode.status).not.toBe(0);
    expect(oldNode.stderr).toMatch(/Node\.js 20 or newer is required \(found v18\.20\.0\)/);
    rmSync(join(fakes, "node"));
    stub("uname", "echo SunOS");
    const sunos = await run(["--prefix", join(parent, "sunos")], {
      ...env,
      PATH: `${fakes}:${process.env.PATH ?? ""}`,
    });
    expect(sunos.status).not.toBe(0);
    expect(sunos.stderr).toMatch(/unsupported platform: SunOS/);
    expect(consoleServer.requests.length).toBe(before);
    expect(existsSync(join(parent, "old-node", STATE_DIR))).toBe(false);
    expect(existsSync(join(parent, "sunos", STATE_DIR))).toBe(false);
  });

  it("refuses to enroll anew beside the state of an earlier prefix layout (DIR/state), and says how to move it", async () => {
    const old = join(parent, "old-layout");
    mkdirSync(join(old, "state"), { recursive: true, mode: 0o700 });
    writeFileSync(join(old, "state", "config.json"), "{}", { mode: 0o600 });
    const before = consoleServer.requests.length;
    const r = await run(["--prefix", old, "--no-start"], {
      VEIL_ENROLL: instance.enrollment(consoleServer.url, cert.pin),
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/holds an earlier companion's state: stop it, then move that folder/);
    expect(consoleServer.requests.length).toBe(before);
    expect(existsSync(join(old, STATE_DIR))).toBe(false);
  });

  /** A new instance, installed and enrolled into `dir` (not started). */
  const installFresh = async (dir: string): Promise<TestInstance> => {
    const fresh = await makeInstance(makeAccount());
    consoleServer.instances.set(fresh.instanceId, fresh.record);
    const installed = await run(["--prefix", dir, "--no-start"], {
      VEIL_ENROLL: fresh.enrollment(consoleServer.url, cert.pin),
    });
    expect(installed.status, installed.stderr).toBe(0);
    return fresh;
  };

  it("installs into a prefix with a space and a quote in its path, and uninstalls it", async () => {
    const dir = join(parent, "José's companion");
    const fresh = await installFresh(dir);
    expect(statusOf(dir)).toMatchObject({ enrolled: true, instanceId: fresh.instanceId });
    const gone = await run(["uninstall", "--prefix", dir], {});
    expect(gone.status, gone.stderr).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it("uninstall leaves everything in place while a run uses the folder, and says to stop it", async () => {
    const dir = join(parent, "busy");
    await installFresh(dir);
    const running = spawn(join(dir, "bin", "veil-companion"), ["run"], { stdio: "ignore" });
    try {
      await vi.waitFor(() => expect(existsSync(join(dir, STATE_DIR, "run.lock"))).toBe(true), { timeout: 15_000 });
      const refused = await run(["uninstall", "--prefix", dir], {});
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/did not erase its state, so nothing was removed: .*stop it first/);
      expect(existsSync(join(dir, STATE_DIR, "secrets.json"))).toBe(true);
      expect(existsSync(join(dir, "bin", "veil-companion"))).toBe(true);
    } finally {
      const exited = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGTERM");
      await exited;
    }
    const gone = await run(["uninstall", "--prefix", dir], {});
    expect(gone.status, gone.stderr).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it("refuses the enrollment string as an argument", async () => {
    const r = await run(["--prefix", join(parent, "argv"), instance.enrollment(consoleServer.url, cert.pin)], {});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/never pass the enrollment string/);
    expect(r.stderr).not.toContain("veil1_");
  });

  it("without VEIL_ENROLL, reads the string from stdin (as the console's line pipes it); nothing or an empty line is refused before anything is fetched", async () => {
    const fresh = await makeInstance(makeAccount());
    consoleServer.instances.set(fresh.instanceId, fresh.record);
    const enrollment = fresh.enrollment(consoleServer.url, cert.pin);
    const dir = join(parent, "stdin");
    const before = consoleServer.requests.length;
    const empty = await run(["--prefix", dir, "--no-start"], {}, { input: "\n" });
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toMatch(/the enrollment string on stdin is empty/);
    const none = await run(["--prefix", dir, "--no-start"], {}, { input: "" });
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/no enrollment string: run the line the console shows/);
    expect(consoleServer.requests.length).toBe(before);
    expect(existsSync(dir)).toBe(false);

    const r = await run(["--prefix", dir, "--no-start"], {}, { input: `${enrollment}\n` });
    expect(r.status, r.stderr).toBe(0);
    expect(statusOf(dir)).toMatchObject({ enrolled: true, instanceId: fresh.instanceId });
    expect(r.stdout + r.stderr).not.toContain(fresh.token);
    expect(r.stdout + r.stderr).not.toContain(enrollment);
    // Run again with the same string on stdin: already enrolled, nothing changes.
    const again = await run(["--prefix", dir, "--no-start"], {}, { input: `${enrollment}\n` });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already enrolled/);
    expect((await run(["uninstall", "--prefix", dir], {})).status).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it("in a shared prefix, install leaves the folders it finds alone and uninstall removes only what install made, without waiting on stdin", async () => {
    // What --prefix /usr/local or --prefix "$HOME" finds: lib, bin and var/lib of other programs.
    const shared = join(parent, "shared");
    mkdirSync(join(shared, "lib", "other"), { recursive: true });
    writeFileSync(join(shared, "lib", "other", "keep.so"), "x");
    mkdirSync(join(shared, "bin"));
    writeFileSync(join(shared, "bin", "other-tool"), "#!/bin/sh\n", { mode: 0o755 });
    mkdirSync(join(shared, "var", "lib", "other-app"), { recursive: true });
    chmodSync(join(shared, "lib"), 0o750);
    const fresh = await makeInstance(makeAccount());
    consoleServer.instances.set(fresh.instanceId, fresh.record);
    const r = await run(["--prefix", shared, "--no-start"], {
      VEIL_ENROLL: fresh.enrollment(consoleServer.url, cert.pin),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(shared, LIB_DIR, "veil-companion.mjs"))).toBe(true);
    expect(statSync(join(shared, "lib")).mode & 0o777).toBe(0o750);
    expect(statusOf(shared)).toMatchObject({ enrolled: true, instanceId: fresh.instanceId });

    // stdin stays open and empty: uninstall needs no string and must not wait for one.
    const gone = await run(["uninstall", "--prefix", shared], {}, "open");
    expect(gone.status, gone.stderr).toBe(0);
    expect(readdirSync(shared).sort()).toEqual(["bin", "lib", "var"]);
    expect(readdirSync(join(shared, "lib"))).toEqual(["other"]);
    expect(readFileSync(join(shared, "lib", "other", "keep.so"), "utf8")).toBe("x");
    expect(readdirSync(join(shared, "bin"))).toEqual(["other-tool"]);
    expect(readdirSync(join(shared, "var", "lib"))).toEqual(["other-app"]);

    // A veil-companion it did not write and a folder holding no companion state are not its to remove.
    writeFileSync(join(shared, "bin", "veil-companion"), "#!/bin/sh\necho someone else's\n", { mode: 0o755 });
    mkdirSync(join(shared, STATE_DIR));
    writeFileSync(join(shared, STATE_DIR, "notes.txt"), "mine");
    const again = await run(["uninstall", "--prefix", shared], {});
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/left .* in place/);
    expect(readFileSync(join(shared, "bin", "veil-companion"), "utf8")).toMatch(/someone else's/);
    expect(readdirSync(join(shared, STATE_DIR))).toEqual(["notes.txt"]);
  });

  it("a bad token stops enrollment with a clear error and enrolls nothing", async () => {
    const stranger = await makeInstance(makeAccount());
    consoleServer.instances.set(stranger.instanceId, { ...instance.record, instanceId: stranger.instanceId });
    const dir = join(parent, "bad-token");
    const r = await run(["--prefix", dir, "--no-start"], {
      VEIL_ENROLL: stranger.enrollment(consoleServer.url, cert.pin),
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/refused the token/);
    expect(readdirSync(join(dir, STATE_DIR))).toEqual([]);
  });

  it("installs, enrolls and runs in the foreground; the companion comes online", async () => {
    const enrollment = instance.enrollment(consoleServer.url, cert.pin);
    child = spawn("sh", [INSTALL, "--prefix", prefix], {
      env: { PATH: process.env.PATH ?? "", HOME: parent, VEIL_ENROLL: enrollment },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitUntil(() => consoleServer.isOnline(instance.instanceId), 30_000, "online");
    expect(statSync(join(prefix, STATE_DIR)).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(join(prefix, STATE_DIR))) {
      // The running companion writes atomically: a temp file listed a moment ago may be renamed away.
      const mode = statSync(join(prefix, STATE_DIR, f), { throwIfNoEntry: false })?.mode;
      if (mode !== undefined) expect(mode & 0o777, f).toBe(0o600);
    }
    const status = JSON.parse(
      execFileSync(join(prefix, "bin", "veil-companion"), ["status", "--json"], { encoding: "utf8" }),
    ) as {
      connection: { state: string };
      instanceId: string;
      consoleUrl: string;
      fingerprints: Record<string, string>;
    };
    // The fingerprints an operator compares with the console's, computed here from the keys.
    expect(status).toMatchObject({
      instanceId: instance.instanceId,
      consoleUrl: consoleServer.url,
      fingerprints: {
        consolePin: cert.pin,
        signer: toHex(fingerprint(instance.admin.identity.publicKey)),
        signerSafetyCode: safetyCode(instance.admin.identity.publicKey),
        instanceIdentityKey: toBase64Url(instance.identity.publicKey),
        instanceBoxKey: toBase64Url(instance.box.publicKey),
      },
    });
    await waitUntil(
      () =>
        (
          JSON.parse(
            execFileSync(join(prefix, "bin", "veil-companion"), ["status", "--json"], { encoding: "utf8" }),
          ) as typeof status
        ).connection.state === "connected",
      5000,
      "status connected",
    );
    const exited = new Promise<number | null>((r) => child?.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).not.toContain(enrollment);
    expect(stderr).not.toContain(instance.token);
  });

  it("while it runs, no program it starts has the enrollment string or the token in its argv or environment (strace, /proc)", async () => {
    const fresh = await makeInstance(makeAccount());
    consoleServer.instances.set(fresh.instanceId, fresh.record);
    const enrollment = fresh.enrollment(consoleServer.url, cert.pin);
    const secrets = [enrollment, fresh.token, enrollment.slice("veil1_".length)];
    const leaks = new Set<string>();
    const redact = (text: string): string => secrets.reduce((t, x) => t.split(x).join("<secret>"), text);
    const seen = new Set<string>();
    const inheritedBy = new Set<string>();
    let installPid = -1;
    // Every few milliseconds, read every process's argv (and, for our own processes, the
    // environment: only the sh started with VEIL_ENROLL may hold it; install.sh unsets it, so no
    // program it runs — node, curl, the companion's enroll — inherits it).
    const poll = (): void => {
      let pids: string[];
      try {
        pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
      } catch {
        return;
      }
      for (const pid of pids) {
        let cmdline: string;
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0/g, " ");
        } catch {
          continue;
        }
        if (secrets.some((x) => cmdline.includes(x))) leaks.add(`${pid}: ${redact(cmdline).slice(0, 160)}`);
        if (cmdline.includes(INSTALL)) seen.add("install.sh");
        if (cmdline.includes("veil-companion.mjs enroll")) seen.add("enroll");
        // The top-level sh and its forked subshells (same argv) keep the environment they started with.
        if (Number(pid) === installPid || cmdline.includes(INSTALL)) continue;
        try {
          if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(enrollment))
            inheritedBy.add(cmdline.slice(0, 120));
        } catch {
          // not ours, or gone
        }
      }
    };
    const timer = setInterval(poll, 2);
    const dir = join(parent, "argv-watch");
    // With strace, every execve is recorded with its argv and its environment (-v), however
    // short-lived the program; the /proc sampling above runs as well.
    const trace = join(parent, "argv-watch.trace");
    const traced = STRACE
      ? ([
          STRACE,
          ["-f", "-qq", "-v", "--seccomp-bpf", "-e", "trace=execve", "-s", "65536", "-o", trace, "sh"],
        ] as const)
      : (["sh", []] as const);
    if (!STRACE) console.warn("[infra] strace is not installed: argv and environments are only sampled from /proc");
    const done = new Promise<{ status: number | null; stderr: string }>((resolveRun) => {
      const p = spawn(traced[0], [...traced[1], INSTALL, "--prefix", dir, "--no-start"], {
        env: { PATH: process.env.PATH ?? "", HOME: parent, VEIL_ENROLL: enrollment },
        stdio: ["ignore", "pipe", "pipe"],
      });
      installPid = p.pid ?? -1;
      let stderr = "";
      p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      p.stdout.resume();
      const t = setTimeout(() => p.kill("SIGKILL"), 60_000);
      p.on("close", (status) => {
        clearTimeout(t);
        resolveRun({ status, stderr });
      });
    });
    const r = await done;
    clearInterval(timer);
    expect(r.status, r.stderr).toBe(0);
    // The watch really saw the run, including the companion's enroll step.
    expect([...seen].sort()).toEqual(["enroll", "install.sh"]);
    expect([...leaks]).toEqual([]);
    expect([...inheritedBy]).toEqual([]);
    expect(r.stderr).not.toContain(fresh.token);
    if (STRACE) {
      const execs = readFileSync(trace, "utf8")
        .split("\n")
        .filter((l) => l.includes("execve("));
      // The first is the sh started with VEIL_ENROLL: only its environment may hold the string.
      const [first = "", ...rest] = execs;
      expect(first).toContain(INSTALL);
      expect(first).toContain("VEIL_ENROLL=");
      const firstArgv = first.slice(0, first.indexOf("], ["));
      expect(secrets.filter((x) => firstArgv.includes(x))).toEqual([]);
      // Everything install.sh ran: curl, the checksum, the companion's enroll; no secret in the argv
      // or the environment of any of them.
      expect(rest.some((l) => l.includes('"curl"'))).toBe(true);
      expect(rest.some((l) => l.includes("veil-companion.mjs") && l.includes('"enroll"'))).toBe(true);
      expect(rest.filter((l) => secrets.some((x) => l.includes(x))).map(redact)).toEqual([]);
    }
  });

  it("is idempotent: a second run (with or without VEIL_ENROLL) changes nothing", async () => {
    const before = readFileSync(join(prefix, STATE_DIR, "secrets.json"), "utf8");
    const r1 = await run(["--prefix", prefix, "--no-start"], {
      VEIL_ENROLL: instance.enrollment(consoleServer.url, cert.pin),
    });
    expect(r1.status, r1.stderr).toBe(0);
    expect(r1.stdout).toMatch(/already enrolled/);
    const r2 = await run(["--prefix", prefix, "--no-start"], {});
    expect(r2.status, r2.stderr).toBe(0);
    expect(readFileSync(join(prefix, STATE_DIR, "secrets.json"), "utf8")).toBe(before);
  });

  it("a re-run without a string fetches from the console install.sh recorded, never from config.json (which the companion's user can rewrite)", async () => {
    const dir = join(parent, "tampered");
    await installFresh(dir);
    // What a compromised companion can do in system mode, where its user owns the state folder:
    // point its own config.json at a console of the attacker's, serving a bundle of its own.
    const attacker = new TestConsole(makeSelfSignedCert("attacker"));
    await attacker.start();
    attacker.files.set("/companion/veil-companion.mjs", BUNDLE);
    attacker.files.set("/companion/veil-companion.mjs.sha256", BUNDLE + ".sha256");
    try {
      const configFile = join(dir, STATE_DIR, "config.json");
      const config = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
      writeFileSync(
        configFile,
        JSON.stringify({ ...config, consoleUrl: attacker.url, consolePin: attacker.cert.pin }),
        {
          mode: 0o600,
        },
      );
      const before = consoleServer.requests.length;
      const r = await run(["--prefix", dir, "--no-start"], {});
      expect(r.status, r.stderr).toBe(0);
      expect(attacker.requests).toEqual([]);
      expect(consoleServer.requests.slice(before).map((q) => q.path)).toContain("/companion/veil-companion.mjs");

      // The record: written by install.sh, 0644, in its own folder.
      const recordFile = join(dir, LIB_DIR, "install.conf");
      const record = readFileSync(recordFile, "utf8");
      expect(record).toContain(`\nurl=${consoleServer.url}\npin=${cert.pin}\nnode=`);
      expect(statSync(recordFile).mode & 0o777).toBe(0o644);
      // A record another user could have written, or one naming no console URL and pin that an
      // enrollment string could carry, is refused; so is a re-run with no record at all (an
      // install.sh from before it): none of them asks the companion instead.
      chmodSync(recordFile, 0o666);
      const loose = await run(["--prefix", dir, "--no-start"], {});
      expect(loose.status).not.toBe(0);
      expect(loose.stderr).toMatch(/install\.conf is not owned by user \d+ alone/);
      chmodSync(recordFile, 0o644);
      writeFileSync(recordFile, record.replace(/^url=.*$/m, `url=${attacker.url}/x?y`));
      const badUrl = await run(["--prefix", dir, "--no-start"], {});
      expect(badUrl.status).not.toBe(0);
      expect(badUrl.stderr).toMatch(/bad console URL/);
      rmSync(recordFile);
      const none = await run(["--prefix", dir, "--no-start"], {});
      expect(none.status).not.toBe(0);
      expect(none.stderr).toMatch(/no record of the console this companion was installed from/);
      expect(attacker.requests).toEqual([]);
    } finally {
      await attacker.stop();
    }
  });

  it("uninstall from a PATH without node still has the companion check its lock (with the Node.js install recorded); with no Node.js at all it removes nothing unless --force", async () => {
    const dir = join(parent, "no-node");
    await installFresh(dir);
    // Everything on PATH but node: sudo's secure_path, cron, a shell that has not loaded nvm.
    const noNode = mkdtempSync(join(parent, "no-node-bin-"));
    for (const d of (process.env.PATH ?? "").split(":").filter((x) => x.startsWith("/"))) {
      for (const name of existsSync(d) ? readdirSync(d) : []) {
        if (name !== "node" && !existsSync(join(noNode, name))) symlinkSync(join(d, name), join(noNode, name));
      }
    }
    expect(spawnSync("sh", ["-c", "command -v node"], { env: { PATH: noNode } }).status).not.toBe(0);
    const secrets = join(dir, STATE_DIR, "secrets.json");
    const running = spawn(join(dir, "bin", "veil-companion"), ["run"], { stdio: "ignore" });
    try {
      await vi.waitFor(() => expect(existsSync(join(dir, STATE_DIR, "run.lock"))).toBe(true), { timeout: 15_000 });
      const refused = await run(["uninstall", "--prefix", dir], { PATH: noNode });
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/did not erase its state, so nothing was removed: .*stop it first/);
      expect(existsSync(secrets)).toBe(true);
    } finally {
      const exited = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGTERM");
      await exited;
    }
    // An install without the record (an earlier install.sh): no Node.js to run the companion with.
    rmSync(join(dir, LIB_DIR, "install.conf"));
    const blind = await run(["uninstall", "--prefix", dir], { PATH: noNode });
    expect(blind.status).not.toBe(0);
    expect(blind.stderr).toMatch(/the companion cannot run here .* nothing was removed/);
    expect(existsSync(secrets)).toBe(true);
    expect(existsSync(join(dir, "bin", "veil-companion"))).toBe(true);
    const forced = await run(["uninstall", "--prefix", dir, "--force"], { PATH: noNode });
    expect(forced.status, forced.stderr).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it("--bundle-sha256 pins the bundle out of band (an argument survives sudo, VEIL_BUNDLE_SHA256 does not): a mismatch installs nothing", async () => {
    const dir = join(parent, "pinned-sum");
    const fresh = await makeInstance(makeAccount());
    consoleServer.instances.set(fresh.instanceId, fresh.record);
    const env = { VEIL_ENROLL: fresh.enrollment(consoleServer.url, cert.pin) };
    const wrong = await run(["--prefix", dir, "--no-start", "--bundle-sha256", "ab".repeat(32)], env);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/checksum mismatch \(expected (ab){32}, got [0-9a-f]{64}\): not installing/);
    expect(existsSync(join(dir, LIB_DIR, "veil-companion.mjs"))).toBe(false);
    expect(existsSync(join(dir, STATE_DIR))).toBe(false);
    const malformed = await run(["--prefix", dir, "--no-start", "--bundle-sha256=xyz"], env);
    expect(malformed.status).not.toBe(0);
    expect(malformed.stderr).toMatch(/--bundle-sha256: not a SHA-256/);
    const disagree = await run(["--prefix", dir, "--no-start", "--bundle-sha256", "ab".repeat(32)], {
      ...env,
      VEIL_BUNDLE_SHA256: "cd".repeat(32),
    });
    expect(disagree.status).not.toBe(0);
    expect(disagree.stderr).toMatch(/differ/);
    // An empty pin (a variable left unset) is refused, never a fall-back to the console's own checksum.
    for (const [args, extra] of [
      [["--bundle-sha256", ""], {}],
      [["--bundle-sha256="], {}],
      [[], { VEIL_BUNDLE_SHA256: "" }],
    ] as const) {
      const empty = await run(["--prefix", dir, "--no-start", ...args], { ...env, ...extra });
      expect(empty.status).not.toBe(0);
      expect(empty.stderr).toMatch(/bundle's SHA-256|set but empty/);
      expect(existsSync(join(dir, LIB_DIR, "veil-companion.mjs"))).toBe(false);
    }
    // The right one (in capitals, as some tools print it) installs, without asking the console for its .sha256.
    const sum = readFileSync(BUNDLE + ".sha256", "utf8").split(" ")[0] ?? "";
    const before = consoleServer.requests.length;
    const right = await run(["--prefix", dir, "--no-start", `--bundle-sha256=${sum.toUpperCase()}`], env);
    expect(right.status, right.stderr).toBe(0);
    expect(consoleServer.requests.slice(before).map((q) => q.path)).not.toContain(
      "/companion/veil-companion.mjs.sha256",
    );
    expect((await run(["uninstall", "--prefix", dir], {})).status).toBe(0);
  });

  it("refuses an empty --prefix or VEIL_PREFIX (for install and uninstall) instead of falling back to system mode", async () => {
    // A stand-in id that says "not root": if the empty prefix ever selected system mode again,
    // the script would stop at its root check instead of touching this host's /opt and /var/lib.
    const fakes = mkdtempSync(join(parent, "not-root-"));
    writeFileSync(join(fakes, "id"), '#!/bin/sh\ncase "$1" in -u) echo 1000 ;; *) exec /usr/bin/id "$@" ;; esac\n', {
      mode: 0o755,
    });
    const PATH = `${fakes}:${process.env.PATH ?? ""}`;
    const cases: [string[], Record<string, string>][] = [
      [["--prefix", ""], {}],
      [["--prefix="], {}],
      [["uninstall", "--prefix", ""], {}],
      [["uninstall", "--prefix="], {}],
      [["--no-start"], { VEIL_PREFIX: "" }],
      [["uninstall"], { VEIL_PREFIX: "" }],
    ];
    for (const [args, env] of cases) {
      const r = await run(args, { ...env, PATH });
      expect(r.status, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toMatch(
        /--prefix needs a folder \(an empty one is refused\)|VEIL_PREFIX is set but empty/,
      );
    }
  });

  it("refuses a bundle whose checksum does not match", async () => {
    const r = await run(["--prefix", join(parent, "bad-sum"), "--no-start"], {
      VEIL_ENROLL: instance.enrollment(consoleServer.url, cert.pin),
      VEIL_BUNDLE_SHA256: "0".repeat(64),
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/checksum mismatch/);
    expect(existsSync(join(parent, "bad-sum", LIB_DIR, "veil-companion.mjs"))).toBe(false);
  });

  it("the companion itself refuses an enrollment string in argv, and reports 'not enrolled' as JSON", () => {
    const r = spawnSync(process.execPath, [BUNDLE, "enroll", "veil1_AAAA"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", VEIL_STATE_DIR: join(parent, "none") },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/refusing an enrollment string on the command line/);
    const s = spawnSync(process.execPath, [BUNDLE, "status", "--json"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", VEIL_STATE_DIR: join(parent, "none") },
    });
    expect(JSON.parse(s.stdout)).toMatchObject({ enrolled: false });
  });

  it("veil-companion rotate replaces the token here and on the console; the old line stops working", async () => {
    const secretsFile = join(prefix, STATE_DIR, "secrets.json");
    const before = JSON.parse(readFileSync(secretsFile, "utf8")) as Record<string, string>;
    const rotated = await runCommand(join(prefix, "bin", "veil-companion"), ["rotate"], {});
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/token rotated/);
    expect(rotated.stdout + rotated.stderr).not.toContain("veil1_");
    const after = JSON.parse(readFileSync(secretsFile, "utf8")) as Record<string, string>;
    expect(after.authKey).not.toBe(before.authKey);
    expect({ ...after, authKey: "" }).toEqual({ ...before, authKey: "" });
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    // The console holds the new auth key's hash, and the line made with the old token is refused.
    const record = consoleServer.instances.get(instance.instanceId);
    expect(record && Buffer.from(record.authKeyHash)).toEqual(
      Buffer.from(hashAuthKey(fromBase64Url(after.authKey ?? "") as AuthKey)),
    );
    const old = await run(["--prefix", join(parent, "old-line"), "--no-start"], {
      VEIL_ENROLL: instance.enrollment(consoleServer.url, cert.pin),
    });
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/refused the token/);
  });

  it("veil-companion uninstall asks for --yes, then erases the enrollment", () => {
    const cli = join(prefix, "bin", "veil-companion");
    const asked = spawnSync(cli, ["uninstall"], { encoding: "utf8" });
    expect(asked.status).toBe(2);
    expect(asked.stderr).toMatch(/uninstall --yes/);
    expect(readdirSync(join(prefix, STATE_DIR))).toContain("secrets.json");
    const erased = spawnSync(cli, ["uninstall", "--yes"], { encoding: "utf8" });
    expect(erased.status, erased.stderr).toBe(0);
    expect(erased.stdout).toBe("enrollment erased\n");
    expect(existsSync(join(prefix, STATE_DIR))).toBe(false);
    // Not enrolled has its own exit code (4), apart from errors (1).
    expect(spawnSync(cli, ["status", "--json"], { encoding: "utf8" }).status).toBe(4);
  });

  it("uninstall removes everything", async () => {
    const r = await run(["uninstall", "--prefix", prefix], {});
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(prefix)).toBe(false);
  });
});
