// Child process of console-restarts.test.ts and redis-messages.test.ts: the real console (API and
// relay, no UI, PGlite) on a given port and data folder, and on a Redis if given, so that a test
// can kill it with SIGKILL and start it again on the same folder and port, or see whether it died.
// It tells its parent the port and certificate over IPC once it listens.
import { startLocalConsole } from "./local-console";

const [dataDir = "", portText = "0", redisUrl] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: console-child.ts <data folder> <port> [redis url]");

const running = await startLocalConsole({
  dataDir,
  port: Number(portText),
  redisUrl,
  log: (line) => process.stderr.write(`${line}\n`),
});

// A parent that went away without killing this process must not leave it holding the port.
process.on("disconnect", () => process.exit(1));
process.send?.({ kind: "ready", port: running.httpsPort, certPem: running.certificate.certPem });
