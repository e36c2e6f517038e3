/**
 * A lean Veil device-channel endpoint in its own process, for measure-scale.ts --veil: WSS with
 * a self-signed certificate, one DeviceChannelServer per connection, device keys issued on
 * first contact and kept in memory, informs counted. Prints the site key on stdout.
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import { DeviceChannelServer, encodeSiteKey, type ChannelKeyStore } from "@veil/devices";
import { WebSocketServer } from "ws";
import { makeCertificate } from "../src/certificates";

const id = await makeCertificate("companion", ["127.0.0.1"]);
const server = https.createServer({ key: id.keyPem, cert: id.certPem });
const wss = new WebSocketServer({ server, maxPayload: 512 * 1024, perMessageDeflate: false });
const siteKeyId = new Uint8Array(8).fill(1);
const siteKey = new Uint8Array(32).fill(2);
const deviceKeys = new Map<string, { keyId: string; key: Uint8Array }>();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const keys: ChannelKeyStore = {
  siteKey: (k) => (hex(k) === hex(siteKeyId) ? siteKey : undefined),
  deviceKey: (mac, k) => {
    const e = deviceKeys.get(mac);
    return e && e.keyId === hex(k) ? e.key : undefined;
  },
};
const counts = { informs: 0, errors: 0, sessions: 0 };
wss.on("connection", (ws) => {
  const chan = new DeviceChannelServer({ keys });
  ws.send(chan.challenge());
  ws.on("error", () => undefined);
  ws.on("message", (data: Buffer) => {
    try {
      if (!chan.identity) {
        const hello = chan.receiveHello(new Uint8Array(data));
        counts.sessions++;
        if (hello.keyType === "site") {
          const k = chan.issueDeviceKey();
          deviceKeys.set(hello.mac, { keyId: hex(k.keyId), key: k.key });
          ws.send(k.frame);
        } else ws.send(chan.send({ type: "welcome", interval: 10, serverTime: Date.now(), adopted: true }));
        return;
      }
      if (chan.receive(new Uint8Array(data)).type === "inform") counts.informs++;
    } catch {
      counts.errors++;
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  const port = (server.address() as AddressInfo).port;
  console.log(
    JSON.stringify({
      siteKey: encodeSiteKey({
        url: `wss://127.0.0.1:${port}/devices`,
        keyId: siteKeyId,
        key: siteKey,
        certFingerprint: Buffer.from(id.fingerprint, "hex"),
      }),
    }),
  );
});
process.on("message", () =>
  process.send?.({
    ...counts,
    cpuSeconds: Number(((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1)),
  }),
);
