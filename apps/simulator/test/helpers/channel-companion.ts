/**
 * A small real companion endpoint for tests: WSS with a self-signed certificate, one
 * DeviceChannelServer per connection (from @veil/devices), a site key, issued device keys,
 * and a log of every message received. Commands can be sent to a connected device.
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import { DeviceChannelServer, encodeSiteKey, type ChannelKeyStore } from "@veil/devices";
import { WebSocketServer, type WebSocket } from "ws";
import { makeCertificate } from "../../src/certificates";
import type { TDeviceDownMessage, TDeviceUpMessage } from "@veil/protocol";

export interface Companion {
  siteKey: string;
  /** Messages received per MAC. */
  received: Map<string, TDeviceUpMessage[]>;
  /** Source addresses of each MAC's channel connections. */
  remotes: Map<string, Set<string>>;
  /** Device keys issued, by MAC. */
  issued: Map<string, { keyId: string; key: Uint8Array }>;
  /** Count of site-key and device-key sessions. */
  sessions: { site: number; device: number };
  errors: number;
  send(mac: string, message: TDeviceDownMessage): boolean;
  close(): Promise<void>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

export async function startCompanion(options: { interval: number; wrongPin?: boolean }): Promise<Companion> {
  const id = await makeCertificate("companion", ["127.0.0.1"]);
  const server = https.createServer({ key: id.keyPem, cert: id.certPem });
  const wss = new WebSocketServer({ server, maxPayload: 512 * 1024 });
  const siteKeyId = new Uint8Array(8).fill(0x11);
  const siteKeyBytes = new Uint8Array(32).fill(0x22);
  const received = new Map<string, TDeviceUpMessage[]>();
  const remotes = new Map<string, Set<string>>();
  const issued = new Map<string, { keyId: string; key: Uint8Array }>();
  const live = new Map<string, { ws: WebSocket; chan: DeviceChannelServer }>();
  const state = { errors: 0, sessions: { site: 0, device: 0 } };
  const keys: ChannelKeyStore = {
    siteKey: (kid) => (hex(kid) === hex(siteKeyId) ? siteKeyBytes : undefined),
    deviceKey: (mac, kid) => {
      const k = issued.get(mac);
      return k && k.keyId === hex(kid) ? k.key : undefined;
    },
  };
  wss.on("connection", (ws, req) => {
    const chan = new DeviceChannelServer({ keys });
    ws.send(chan.challenge());
    ws.on("message", (data: Buffer) => {
      try {
        const frame = new Uint8Array(data);
        if (!chan.identity) {
          const hello = chan.receiveHello(frame);
          (received.get(hello.mac) ?? received.set(hello.mac, []).get(hello.mac))?.push(hello.hello);
          (remotes.get(hello.mac) ?? remotes.set(hello.mac, new Set()).get(hello.mac))?.add(
            req.socket.remoteAddress ?? "",
          );
          if (hello.keyType === "site") {
            state.sessions.site++;
            const k = chan.issueDeviceKey();
            issued.set(hello.mac, { keyId: hex(k.keyId), key: k.key });
            ws.send(k.frame);
          } else {
            state.sessions.device++;
            live.set(hello.mac, { ws, chan });
            ws.send(chan.send({ type: "welcome", interval: options.interval, serverTime: Date.now(), adopted: true }));
          }
          return;
        }
        const msg = chan.receive(frame);
        received.get(chan.identity.mac)?.push(msg);
      } catch {
        state.errors++;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const fp = Buffer.from(id.fingerprint, "hex");
  if (options.wrongPin) fp[0] = (fp[0] ?? 0) ^ 1;
  return {
    siteKey: encodeSiteKey({
      url: `wss://127.0.0.1:${port}/devices`,
      keyId: siteKeyId,
      key: siteKeyBytes,
      certFingerprint: fp,
    }),
    received,
    remotes,
    issued,
    get sessions() {
      return state.sessions;
    },
    get errors() {
      return state.errors;
    },
    send(mac, message) {
      const l = live.get(mac);
      if (!l || l.ws.readyState !== l.ws.OPEN) return false;
      l.ws.send(l.chan.send(message));
      return true;
    },
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
