#!/usr/bin/env node
/**
 * `veil-companion`: the thin main. Parses the command, reads the environment once, and hands
 * off to one command module. Exit codes: 0 ok, 1 error, 2 usage, 3 instance revoked, 4 not
 * enrolled (`status`).
 */
import { useFastestPrimitives, useNativePrimitives } from "@veil/crypto/node";
import { describeCommandError } from "./cli/command-error";
import { enrollCommand } from "./cli/enroll-command";
import { readEnrollment } from "./cli/read-enrollment";
import { formatStatus, readStatus } from "./cli/status-command";
import { uninstallCommand } from "./cli/uninstall-command";
import { readEnv } from "./env";
import { createJsonLogger, type Logger } from "./log";
import { rotateToken } from "./rotate/rotate-token";
import { startCompanion } from "./run/start-companion";
import { lockStateDir, type StateDirLock } from "./run/state-dir-lock";
import { StateStore } from "./state/state-store";
import { createPinnedTransport } from "./transport/console-transport";
import { COMPANION_VERSION } from "./version";

const USAGE = `usage: veil-companion <command>
  enroll            enroll this host (enrollment string from VEIL_ENROLL or stdin, never argv)
  run               connect to the console and serve end-to-end sessions (foreground)
  status [--json]   connection, console, instance, fingerprints, sessions
  rotate            new instance token: re-wrap the keys and replace the console's copy
  uninstall --yes   erase this host's enrollment
  version
environment: VEIL_STATE_DIR (default /var/lib/veil-companion), VEIL_ENROLL, VEIL_LOG_LEVEL,
  VEIL_DEVICES (on|off), VEIL_DEVICE_BIND, VEIL_INFORM_PORT (8080), VEIL_DEVICE_CHANNEL_PORT (8444),
  VEIL_DEVICE_PUBLIC_HOST, VEIL_INFORM_INTERVAL (10), VEIL_DEVICE_AUTO_ADOPT (false)
`;

/** Exit codes (docs/PROTOCOL-COMPANION.md §8). */
const EXIT = { ok: 0, error: 1, usage: 2, revoked: 3, notEnrolled: 4 } as const;

/**
 * `run` is a daemon: an error thrown in a timer or a callback outside the supervisor's guard ends
 * it with one JSON line (name and message, as every log line: no secret) and exit 1, never a raw
 * stack trace. The run lock goes with it, so `status` sees the process gone at once.
 */
function exitOnUncaught(logger: Logger, lock: () => StateDirLock | undefined): void {
  const fatal = (origin: string) => (error: unknown) => {
    logger.error("stopped on an unexpected error", {
      origin,
      error: error instanceof Error ? error.name : typeof error,
      message: error instanceof Error ? error.message : "a non-error was thrown",
    });
    try {
      lock()?.release();
    } finally {
      process.exit(EXIT.error);
    }
  };
  process.on("uncaughtException", fatal("uncaughtException"));
  process.on("unhandledRejection", fatal("unhandledRejection"));
}

/** `run` with the state folder locked: starts the companion, stops it on SIGTERM or SIGINT, and gives the exit code. */
async function runUntilStopped(store: StateStore, logger: Logger, env: ReturnType<typeof readEnv>): Promise<number> {
  const running = startCompanion({
    store,
    logger,
    scanRanges: env.VEIL_SCAN_RANGES,
    ...(env.VEIL_DEVICES === "on"
      ? {
          devices: {
            bindHost: env.VEIL_DEVICE_BIND,
            informPort: env.VEIL_INFORM_PORT,
            channelPort: env.VEIL_DEVICE_CHANNEL_PORT,
            intervalSec: env.VEIL_INFORM_INTERVAL,
            autoAdopt: env.VEIL_DEVICE_AUTO_ADOPT === "true",
            ...(env.VEIL_DEVICE_PUBLIC_HOST !== undefined ? { publicHost: env.VEIL_DEVICE_PUBLIC_HOST } : {}),
          },
        }
      : {}),
  });
  const stop = (): void => running.stop();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const end = await running.finished;
  // Stopped on an error while connecting (logged by the supervisor; status.json says "stopped").
  if (running.supervisor.failure !== undefined) return EXIT.error;
  return end === "revoked" ? EXIT.revoked : EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (args.some((a) => a.includes("veil1_"))) {
    process.stderr.write(
      "refusing an enrollment string on the command line (other users can read argv): use VEIL_ENROLL or stdin\n",
    );
    return EXIT.usage;
  }
  const env = readEnv();
  const logger = createJsonLogger({ level: env.VEIL_LOG_LEVEL });
  useNativePrimitives();
  switch (command) {
    case "enroll": {
      const enrollment = await readEnrollment(env.VEIL_ENROLL);
      const result = await enrollCommand({ stateDir: env.VEIL_STATE_DIR, enrollment, logger });
      process.stdout.write(
        result.alreadyEnrolled
          ? `already enrolled as ${result.instanceId}\n`
          : result.reenrolled
            ? `enrolled again as ${result.instanceId}: console address, pin and auth key replaced (keys, vault, devices and audit log kept)\n`
            : `enrolled as ${result.instanceId}\n`,
      );
      return EXIT.ok;
    }
    case "run": {
      // libsodium in front of node:crypto for the small AEAD messages of E2E sessions. Without it
      // every frame has the same bytes, only sealed more slowly.
      await useFastestPrimitives().catch((error: unknown) =>
        logger.warn("libsodium did not load: node:crypto seals every message", {
          error: error instanceof Error ? error.message : String(error),
        }),
      );
      const held: { lock?: StateDirLock } = {};
      exitOnUncaught(logger, () => held.lock);
      const store = new StateStore(env.VEIL_STATE_DIR);
      // Checks the folder first (missing, or looser permissions: the fix is named), then locks it.
      store.loadConfig();
      const lock = lockStateDir(env.VEIL_STATE_DIR);
      if (lock === undefined)
        throw new Error(
          `another veil-companion run is using ${env.VEIL_STATE_DIR}; stop it first (status shows its pid)`,
        );
      held.lock = lock;
      try {
        // Checked under the lock, which an enrollment again holds while it writes.
        if (store.reenrollPending())
          throw new Error(
            `an enrollment again did not finish in ${env.VEIL_STATE_DIR}: run 'veil-companion enroll' with the same string again, then start the companion`,
          );
        return await runUntilStopped(store, logger, env);
      } finally {
        lock.release();
      }
    }
    case "status": {
      const report = readStatus(env.VEIL_STATE_DIR);
      process.stdout.write(args.includes("--json") ? JSON.stringify(report) + "\n" : formatStatus(report));
      return report.enrolled ? EXIT.ok : EXIT.notEnrolled;
    }
    case "rotate": {
      const store = new StateStore(env.VEIL_STATE_DIR);
      const config = store.loadConfig();
      if (config === undefined) throw new Error("not enrolled");
      await rotateToken({ store, transport: createPinnedTransport(config.consoleUrl, config.consolePin), logger });
      // The new token is not printed: this host no longer needs it, and nobody else should have it.
      process.stdout.write(
        "token rotated: the previous token no longer works; to re-enroll a host, create a new enrollment from the console\n",
      );
      return EXIT.ok;
    }
    case "uninstall": {
      if (!args.includes("--yes")) {
        process.stderr.write(
          "this erases the enrollment and the instance keys on this host: run 'veil-companion uninstall --yes'\n",
        );
        return EXIT.usage;
      }
      const { removed, folder } = uninstallCommand(env.VEIL_STATE_DIR);
      process.stdout.write(
        !removed
          ? "nothing to erase\n"
          : folder === "left"
            ? `enrollment erased; empty folder ${env.VEIL_STATE_DIR} left (its parent is not writable by this user)\n`
            : "enrollment erased\n",
      );
      return EXIT.ok;
    }
    case "version":
    case "--version":
      process.stdout.write(COMPANION_VERSION + "\n");
      return EXIT.ok;
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === "help" || command === "--help" ? EXIT.ok : EXIT.usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const [command, ...args] = process.argv.slice(2);
    const { code, message } = describeCommandError(error);
    // `run` writes JSON lines (what the journal keeps); `status --json` always answers one JSON
    // object on stdout; the other commands answer a person.
    if (command === "run") createJsonLogger().error("stopped on an error", { error: message, code });
    else if (command === "status" && args.includes("--json"))
      process.stdout.write(JSON.stringify({ error: { code, message } }) + "\n");
    else process.stderr.write(`veil-companion: ${message}\n`);
    process.exit(EXIT.error);
  },
);
