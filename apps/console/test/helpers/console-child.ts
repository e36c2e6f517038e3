// Child process of console-restarts.test.ts: the real console (API and relay, no UI, PGlite) on
// a given port and data folder, so that the test can kill it with SIGKILL and start it again on
// the same folder and port. It tells its parent the port and certificate over IPC once it listens.
import { startLocalConsole } from "./local-console";

const [dataDir = "", portText = "0"] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: console-child.ts <data folder> <port>");

const running = await startLocalConsole({
  dataDir,
  port: Number(portText),
  log: (line) => process.stderr.write(`${line}\n`),
});

// A parent that went away without killing this process must not leave it holding the port.
process.on("disconnect", () => process.exit(1));
process.send?.({ kind: "ready", port: running.httpsPort, certPem: running.certificate.certPem });
