import net from "node:net";
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DeviceChannelClient, decodeSiteKey } from "@veil/devices";
import { type DeviceService, type DeviceServiceOptions } from "../src/devices/device-service";
import { waitUntil } from "./harness/browser";
import { LocalDeviceServices } from "./harness/local-device-services";

const HELLO = { kind: "ap", model: "X", firmware: "1", hostname: "dev" } as const;

/** Enrols `mac` with the site key from `localAddress`: the frame type the companion answers, or "closed". */
async function enrol(service: DeviceService, mac: string, localAddress: string): Promise<string> {
  const site = decodeSiteKey(service.siteKey().text);
  const ws = new WebSocket(`wss://127.0.0.1:${service.channelPort}/devices`, {
    rejectUnauthorized: false,
    localAddress,
  });
  const frames: Uint8Array[] = [];
  const waiters: ((f: Uint8Array | null) => void)[] = [];
  ws.on("message", (d: Buffer) => {
    const w = waiters.shift();
    if (w) w(new Uint8Array(d));
    else frames.push(new Uint8Array(d));
  });
  ws.on("error", () => undefined);
  ws.on("close", () => {
    for (const w of waiters.splice(0)) w(null);
  });
  const next = (): Promise<Uint8Array | null> =>
    frames.length > 0 ? Promise.resolve(frames.shift() ?? null) : new Promise((r) => waiters.push(r));
  try {
    const challenge = await next();
    if (challenge === null) return "closed";
    const client = new DeviceChannelClient({ mac, credential: { type: "site", keyId: site.keyId, key: site.key } });
    ws.send(client.hello(challenge, HELLO));
    const reply = await next();
    return reply === null ? "closed" : client.receive(reply).type;
  } finally {
    ws.close();
  }
}

/** Enrols `mac` from `localAddress`, then opens its own-key session and keeps it: the open socket, or null when refused. */
async function enrolAndStay(service: DeviceService, mac: string, localAddress: string): Promise<WebSocket | null> {
  const site = decodeSiteKey(service.siteKey().text);
  const url = `wss://127.0.0.1:${service.channelPort}/devices`;
  const session = async (
    credential: ConstructorParameters<typeof DeviceChannelClient>[0]["credential"],
  ): Promise<{ ws: WebSocket; client: DeviceChannelClient; answer: string }> => {
    const ws = new WebSocket(url, { rejectUnauthorized: false, localAddress });
    ws.on("error", () => undefined);
    const frame = (): Promise<Uint8Array | null> =>
      new Promise((resolve) => {
        ws.once("message", (d: Buffer) => resolve(new Uint8Array(d)));
        ws.once("close", () => resolve(null));
      });
    const client = new DeviceChannelClient({ mac, credential });
    const challenge = await frame();
    if (challenge === null) return { ws, client, answer: "closed" };
    ws.send(client.hello(challenge, HELLO));
    const reply = await frame();
    return { ws, client, answer: reply === null ? "closed" : client.receive(reply).type };
  };
  const first = await session({ type: "site", keyId: site.keyId, key: site.key });
  first.ws.close();
  const issued = first.client.issuedKey;
  if (issued === undefined) return null;
  const own = await session(issued);
  if (own.answer !== "welcome") {
    own.ws.close();
    return null;
  }
  return own.ws;
}

describe("the device channel (WSS) against one LAN host holding connections", () => {
  const services = new LocalDeviceServices();
  const held: net.Socket[] = [];
  const start = (extra: Partial<DeviceServiceOptions>): Promise<DeviceService> => services.start(extra);
  afterEach(async () => {
    for (const s of held.splice(0)) s.destroy();
    await services.stopAll();
  });

  it("TCP connections that never say ClientHello and TLS connections that never upgrade are closed", async () => {
    const s = await start({ channelServer: { handshakeTimeoutMs: 300, idleTimeoutMs: 300 } });
    let closed = 0;
    let handshakes = 0;
    for (let i = 0; i < 3; i++) {
      const raw = net.connect({ host: "127.0.0.1", port: s.channelPort, localAddress: "127.0.0.53" });
      raw.on("error", () => undefined);
      raw.on("close", () => closed++);
      const t = tls.connect({
        socket: net.connect({ host: "127.0.0.1", port: s.channelPort, localAddress: "127.0.0.54" }),
        rejectUnauthorized: false,
      });
      t.on("secureConnect", () => handshakes++);
      t.on("error", () => undefined);
      t.on("close", () => closed++);
      held.push(raw, t);
    }
    // Closed at all is the bound (before: 120 s for raw TCP, for good once TLS was done).
    await waitUntil(() => closed === 6, 15_000, "silent connections closed");
    expect(handshakes).toBe(3);
    expect(s.ctx.counters.get("veil.idle_timeout")).toBe(3);
    expect(await enrol(s, "02:47:00:00:00:01", "127.0.0.55")).toBe("key_issue");
  });

  it("one address holds at most its share of connections; another address still enrols", async () => {
    const s = await start({});
    let closed = 0;
    for (let i = 0; i < 140; i++) {
      const raw = net.connect({ host: "127.0.0.1", port: s.channelPort, localAddress: "127.0.0.56" });
      raw.on("error", () => undefined);
      raw.on("close", () => closed++);
      held.push(raw);
    }
    // 128 may be held; the 12 beyond are closed on arrival, long before any timeout.
    await waitUntil(() => closed >= 12, 4000, "over-cap connections closed");
    expect(s.ctx.counters.get("veil.connections_per_source")).toBeGreaterThanOrEqual(12);
    expect(await enrol(s, "02:47:00:00:00:02", "127.0.0.57")).toBe("key_issue");
  });

  it("devices whose own key verified hold no place: more devices than the cap share one address (a NAT), and stay", async () => {
    const s = await start({ channelServer: { maxConnectionsPerSource: 3 } });
    const sessions: WebSocket[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const ws = await enrolAndStay(s, `02:48:00:00:00:0${i}`, "127.0.0.62");
        expect(ws).not.toBeNull();
        if (ws) sessions.push(ws);
      }
      expect(s.ctx.channels.size).toBe(6);
      // The cap still holds for what has not authenticated: three silent sockets fill it.
      let closed = 0;
      for (let i = 0; i < 4; i++) {
        const raw = net.connect({ host: "127.0.0.1", port: s.channelPort, localAddress: "127.0.0.62" });
        raw.on("error", () => undefined);
        raw.on("close", () => closed++);
        held.push(raw);
      }
      await waitUntil(() => closed >= 1, 4000, "the fourth silent socket refused");
      expect(s.ctx.counters.get("veil.connections_per_source")).toBe(1);
      expect(s.ctx.channels.size).toBe(6);
    } finally {
      for (const ws of sessions) ws.terminate();
    }
  });
});
