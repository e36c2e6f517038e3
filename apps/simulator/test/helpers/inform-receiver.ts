/**
 * A small real UniFi inform receiver for tests, built from @veil/devices (not a mock): it
 * decodes every TNBU packet with the key it holds for the MAC, validates the JSON with the
 * protocol schema, adopts unknown devices with a fresh authkey via setparam, and answers with
 * queued replies (reboot, cmd) or noop.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  adoptReply,
  authkeyToKey,
  decodeInformJson,
  encodeInformJson,
  generateAuthkey,
  INFORM_DEFAULT_KEY,
  noopReply,
  parseInformHeader,
  type InformCipher,
  type InformCompression,
} from "@veil/devices";
import { ZUnifiInformSchema, type TUnifiInform, type TUnifiReply } from "@veil/protocol";

export interface DeviceRecord {
  authkey?: string;
  informsDefault: number;
  informsAuthkey: number;
  last?: TUnifiInform;
  formats: Set<`${InformCipher}/${InformCompression}`>;
  queue: TUnifiReply[];
  /** Source addresses the device's informs came from. */
  remotes: Set<string>;
}

export interface InformReceiver {
  url: string;
  devices: Map<string, DeviceRecord>;
  rejected: number;
  close(): Promise<void>;
}

export async function startInformReceiver(interval: number, adopt = true): Promise<InformReceiver> {
  const devices = new Map<string, DeviceRecord>();
  const state = { rejected: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const packet = new Uint8Array(Buffer.concat(chunks));
        const header = parseInformHeader(packet);
        let rec = devices.get(header.mac);
        if (!rec) {
          rec = { informsDefault: 0, informsAuthkey: 0, formats: new Set(), queue: [], remotes: new Set() };
          devices.set(header.mac, rec);
        }
        const key = rec.authkey ? authkeyToKey(rec.authkey) : INFORM_DEFAULT_KEY;
        const { json } = decodeInformJson(packet, key);
        const inform = ZUnifiInformSchema.parse(json);
        if (inform.mac !== header.mac) throw new Error("mac mismatch");
        rec.last = inform;
        rec.remotes.add(req.socket.remoteAddress ?? "");
        rec.formats.add(`${header.cipher}/${header.compression}`);
        let reply: TUnifiReply;
        if (!rec.authkey) {
          rec.informsDefault++;
          if (adopt) {
            rec.authkey = generateAuthkey();
            reply = adoptReply(rec.authkey);
          } else reply = noopReply(interval);
        } else {
          rec.informsAuthkey++;
          reply = rec.queue.shift() ?? noopReply(interval);
        }
        // The reply goes out under the key the device used for this request.
        const body = encodeInformJson(reply, { mac: header.mac, key });
        res.writeHead(200, { "content-type": "application/x-binary" });
        res.end(body);
      } catch {
        state.rejected++;
        res.writeHead(400);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/inform`,
    devices,
    get rejected() {
      return state.rejected;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Polls `cond` every 20 ms until it holds or `ms` pass. */
export async function waitFor(cond: () => boolean, ms = 15_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
