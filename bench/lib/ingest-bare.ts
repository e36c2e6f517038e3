// Child process of bench/devices-ingest.ts, the baseline: a bare HTTP server that takes the same
// UniFi informs and only does what no inform server can skip — header parse, AES-GCM decryption
// and decompression under the default key, the IV replay check, the payload schema and the
// mapping to a device state (packages/devices, packages/protocol) — and answers a `noop`. No
// inventory, no store, no flood limits, no end-to-end session. Prints {"port":N}.
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  decodeInformJson,
  encodeInformJson,
  INFORM_DEFAULT_KEY,
  InformReplayCache,
  noopReply,
  unifiInformToDeviceState,
} from "../../packages/devices/src/index";
import { ZUnifiInformSchema } from "../../packages/protocol/src/index";

const replay = new InformReplayCache(64, 20_000);
let accepted = 0;
let refused = 0;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    try {
      const { header, json } = decodeInformJson(new Uint8Array(Buffer.concat(chunks)), INFORM_DEFAULT_KEY);
      if (!replay.check(header.mac, header.iv)) throw new Error("replayed");
      const parsed = ZUnifiInformSchema.parse(json);
      unifiInformToDeviceState(parsed);
      const body = encodeInformJson(noopReply(10), { mac: header.mac, key: INFORM_DEFAULT_KEY });
      accepted++;
      res.writeHead(200, { "content-type": "application/x-binary", "content-length": body.length });
      res.end(body);
    } catch {
      refused++;
      res.writeHead(400, { "content-length": 0 });
      res.end();
    }
  });
});
server.maxConnections = 4096;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
setInterval(() => process.stdout.write(`${JSON.stringify({ accepted, refused })}\n`), 1000).unref();
process.once("SIGTERM", () => server.close(() => process.exit(0)));
