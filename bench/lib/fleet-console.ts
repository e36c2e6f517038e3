// Child process of bench/companions.ts and bench/relay.ts (lib/relay-veil.ts): the real console
// (API and relay, no UI) on a given port (0: any) and data folder, HTTP rate limits lifted (one IP
// plays a thousand hosts). Answers {kind:"stats"} over IPC with its memory after a full GC.
import { startLocalConsole } from "../../apps/console/test/helpers/local-console";
import { answerProfileRequests } from "./relay-profile";

const [dataDir = "", portText = "0"] = process.argv.slice(2);
const node = await startLocalConsole({ dataDir, port: Number(portText) });
const send = (m: unknown): void => void process.send?.(m);
process.on("message", (m: { kind?: string }) => {
  if (m.kind === "stats") {
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    send({
      kind: "stats",
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
      connected: -1, // the instance list's presence says who is connected (bench/companions.ts)
    });
  } else if (m.kind === "stop") void node.close().then(() => process.exit(0));
});
answerProfileRequests();
send({ kind: "ready", port: node.httpsPort, certPem: node.certificate.certPem });
