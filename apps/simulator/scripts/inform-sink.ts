/**
 * A minimal UniFi inform receiver in its own process, for measure-scale.ts: decodes every
 * packet with the default key, validates it, answers noop. Prints its port on stdout.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { decodeInformJson, encodeInformJson, INFORM_DEFAULT_KEY, noopReply } from "@veil/devices";
import { ZUnifiInformSchema } from "@veil/protocol";

let ok = 0;
let bad = 0;
const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    try {
      const { header, json } = decodeInformJson(new Uint8Array(Buffer.concat(chunks)), INFORM_DEFAULT_KEY);
      ZUnifiInformSchema.parse(json);
      ok++;
      res.end(encodeInformJson(noopReply(10), { mac: header.mac, key: INFORM_DEFAULT_KEY }));
    } catch {
      bad++;
      res.writeHead(400).end();
    }
  });
});
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.on("message", () =>
  process.send?.({
    ok,
    bad,
    cpuSeconds: Number(((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1)),
  }),
);
