/**
 * A Veil device driven frame by frame (the @veil/devices client over a bare WebSocket), for
 * tests that need a device to misbehave in ways the simulator never would.
 */
import WebSocket from "ws";
import { DeviceChannelClient, decodeSiteKey, type ChannelCredential, type DeviceHelloFields } from "@veil/devices";
import type { TDeviceDownMessage } from "../../src/protocol";
import type { DeviceService } from "../../src/devices/device-service";

const HELLO: DeviceHelloFields = { kind: "ap", model: "X", firmware: "1", hostname: "dev" };

/** One channel session: its socket, its state machine, and the companion's frames in order. */
export interface RawDeviceSession {
  ws: WebSocket;
  client: DeviceChannelClient;
  next(): Promise<Uint8Array>;
}

/** Connects to `url` and sends the hello (with `hello`'s fields over the defaults). */
export async function openRawDevice(
  url: string,
  mac: string,
  credential: ChannelCredential,
  hello: Partial<DeviceHelloFields> = {},
): Promise<RawDeviceSession> {
  const ws = new WebSocket(url, { rejectUnauthorized: false });
  const frames: Uint8Array[] = [];
  const waiters: ((f: Uint8Array) => void)[] = [];
  ws.on("message", (d: Buffer) => {
    const w = waiters.shift();
    if (w) w(new Uint8Array(d));
    else frames.push(new Uint8Array(d));
  });
  const next = (): Promise<Uint8Array> => {
    const f = frames.shift();
    return f ? Promise.resolve(f) : new Promise((r) => waiters.push(r));
  };
  const client = new DeviceChannelClient({ mac, credential });
  ws.send(client.hello(await next(), { ...HELLO, ...hello }));
  return { ws, client, next };
}

/** Enrols `mac` with the site key and opens its device-key session; the welcome is returned, not read. */
export async function adoptRawDevice(
  service: DeviceService,
  mac: string,
  hello: Partial<DeviceHelloFields> = {},
): Promise<RawDeviceSession> {
  const site = decodeSiteKey(service.siteKey().text);
  const url = `wss://127.0.0.1:${service.channelPort}/devices`;
  const first = await openRawDevice(url, mac, { type: "site", keyId: site.keyId, key: site.key }, hello);
  first.client.receive(await first.next());
  first.ws.close();
  const issued = first.client.issuedKey;
  if (issued === undefined) throw new Error("no key issued");
  return openRawDevice(url, mac, issued, hello);
}

/** Reads the companion's messages in order until one of `type`; the others are skipped. */
export async function nextOfType<T extends TDeviceDownMessage["type"]>(
  s: RawDeviceSession,
  type: T,
): Promise<Extract<TDeviceDownMessage, { type: T }>> {
  for (;;) {
    const m = s.client.receive(await s.next());
    if (m.type === type) return m as Extract<TDeviceDownMessage, { type: T }>;
  }
}

/** The next `terminal-open` command: its command id and the device-side session id. */
export async function nextTerminalOpen(s: RawDeviceSession): Promise<{ id: string; sessionId: string }> {
  const open = await nextOfType(s, "command");
  if (open.command.name !== "terminal-open") throw new Error(`expected terminal-open, got ${open.command.name}`);
  return { id: open.id, sessionId: open.command.sessionId };
}
