#!/usr/bin/env node
/**
 * `veil-companion`: the thin main. Parses the command, reads the environment once, and hands
 * off to one command module. Exit codes: 0 ok, 1 error, 2 usage, 3 instance revoked.
 */
import { useFastestPrimitives, useNativePrimitives } from "@veil/crypto/node";
import { enrollCommand } from "./cli/enroll-command";
import { readEnrollment } from "./cli/read-enrollment";
import { formatStatus, readStatus } from "./cli/status-command";
import { uninstallCommand } from "./cli/uninstall-command";
import { readEnv } from "./env";
import { createJsonLogger } from "./log";
import { rotateToken } from "./rotate/rotate-token";
import { startCompanion } from "./run/start-companion";
import { lockStateDir } from "./run/state-dir-lock";
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

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (args.some((a) => a.includes("veil1_"))) {
    process.stderr.write(
      "refusing an enrollment string on the command line (other users can read argv): use VEIL_ENROLL or stdin\n",
    );
    return 2;
  }
  const env = readEnv();
  const logger = createJsonLogger({ level: env.VEIL_LOG_LEVEL });
  useNativePrimitives();
  switch (command) {
    case "enroll": {
      const enrollment = await readEnrollment(env.VEIL_ENROLL);
      const result = await enrollCommand({ stateDir: env.VEIL_STATE_DIR, enrollment, logger });
      process.stdout.write(
        result.alreadyEnrolled ? `already enrolled as ${result.instanceId}\n` : `enrolled as ${result.instanceId}\n`,
      );
      return 0;
    }
    case "run": {
      // libsodium in front of node:crypto for the small AEAD messages of E2E sessions. Without it
      // every frame has the same bytes, only sealed more slowly.
      await useFastestPrimitives().catch((error: unknown) =>
        logger.warn("libsodium did not load: node:crypto seals every message", {
          error: error instanceof Error ? error.message : String(error),
        }),
      );
      const store = new StateStore(env.VEIL_STATE_DIR);
      // Checks the folder first (missing, or looser permissions: the fix is named), then locks it.
      store.loadConfig();
      const lock = lockStateDir(env.VEIL_STATE_DIR);
      if (lock === undefined)
        throw new Error(
          `another veil-companion run is using ${env.VEIL_STATE_DIR}; stop it first (status shows its pid)`,
        );
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
      lock.release();
      return end === "revoked" ? 3 : 0;
    }
    case "status": {
      const report = readStatus(env.VEIL_STATE_DIR);
      process.stdout.write(args.includes("--json") ? JSON.stringify(report) + "\n" : formatStatus(report));
      return report.enrolled ? 0 : 1;
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
      return 0;
    }
    case "uninstall": {
      if (!args.includes("--yes")) {
        process.stderr.write(
          "this erases the enrollment and the instance keys on this host: run 'veil-companion uninstall --yes'\n",
        );
        return 2;
      }
      const { removed } = uninstallCommand(env.VEIL_STATE_DIR);
      process.stdout.write(removed ? "enrollment erased\n" : "nothing to erase\n");
      return 0;
    }
    case "version":
    case "--version":
      process.stdout.write(COMPANION_VERSION + "\n");
      return 0;
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === "help" || command === "--help" ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : "failed";
    // `run` writes JSON lines (what the journal keeps); the other commands answer a person.
    if (process.argv[2] === "run") createJsonLogger().error("stopped on an error", { error: message });
    else process.stderr.write(`veil-companion: ${message}\n`);
    process.exit(1);
  },
);
