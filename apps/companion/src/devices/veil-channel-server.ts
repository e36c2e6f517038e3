/**
 * Veil's device channel on the companion: HTTPS with the companion's own self-signed
 * certificate (pinned by devices through the site key), WebSocket upgrade on `/devices`, and
 * one DeviceChannelServer state machine (@veil/devices) per connection.
 *
 *   site-key hello  → device is new: issue its own key (`key_issue`), store it, pending;
 *                     the device acknowledges, closes and reconnects with that key.
 *   device-key hello → adopted: `welcome {interval}`, then informs and command results.
 *
 * A MAC that already holds a device key cannot enrol again with the site key (a site-key
 * holder could otherwise take over another device's identity): re-adoption is explicit.
 * Bad frames are dropped and counted under `veil.<reason>`; the session survives a few, a
 * connection that keeps sending them is closed. Per-device frame budgets are token buckets.
 *
 * Sockets are limited before TLS sees them: each host may hold `maxConnectionsPerSource` not yet
 * authenticated at once (a device's own session, once its device-key hello verified, gives its
 * place back, so any number of devices may share an address), and each source (IPv4 address,
 * IPv6 /64) may open new ones at its `connectionsPerIp` rate; the TLS
 * handshake must finish within `handshakeTimeoutMs`, and a socket idle `idleTimeoutMs` before
 * its WebSocket upgrade is closed (after the upgrade the hello timer and the session take
 * over). Enrolment (a site-key hello that gets a device key) is limited per host and per
 * site key, so one site-key holder cannot fill the inventory at once.
 */
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { CHANNEL_MAX_FRAME, DeviceChannelServer, DeviceCodecError, type AcceptedHello } from "@veil/devices";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { TERMINAL_WINDOW_BYTES, type TDeviceState, type TDeviceUpMessage } from "../protocol";
import type { DeviceContext, LiveChannel } from "./device-context";
import type { DeviceEntry } from "./inventory";
import { channelKeys, hex } from "./channel-keys";
import type { TlsIdentity } from "./tls-identity";
import { admitSockets } from "./socket-admission";
import { hostKey } from "./token-bucket";

/** Socket limits and timeouts of the device channel server. */
export interface ChannelServerLimits {
  /** Sockets open at once, all sources together (each session holds one for good). */
  readonly maxConnections: number;
  /**
   * Sockets one host may hold at once before they authenticate (connecting, handshaking,
   * enrolling). A device's session gives its place back once its device-key hello verified, so
   * this does not limit how many devices share one address (a NAT, a proxy).
   */
  readonly maxConnectionsPerSource: number;
  /** The TLS handshake must complete this long after the TCP connection. */
  readonly handshakeTimeoutMs: number;
  /** A socket idle this long before its WebSocket upgrade is closed. */
  readonly idleTimeoutMs: number;
  /** The upgrade request's headers must be complete this long after they started. */
  readonly headersTimeoutMs: number;
}

export const DEFAULT_CHANNEL_SERVER_LIMITS: Omit<ChannelServerLimits, "maxConnections"> = {
  maxConnectionsPerSource: 128,
  handshakeTimeoutMs: 5000,
  idleTimeoutMs: 10_000,
  headersTimeoutMs: 5000,
};

/** Command ids remembered per session for matching their results. */
const MAX_PENDING_COMMANDS = 256;

/** A listening channel server. */
export interface VeilChannelServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Bad frames tolerated per connection before it is closed. */
const MAX_BAD_FRAMES = 20;
const HELLO_TIMEOUT_MS = 10_000;
/** How long reading from an adopted device pauses once it spent its frame budget. */
const THROTTLE_MS = 100;
/** The holder of that pause (LiveChannel.hold). */
const THROTTLED = Object.freeze({ holder: "frame budget" });

const toBytes = (data: RawData): Uint8Array => {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  return data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
};
const ipv4Of = (addr: string | undefined): string => {
  const a = (addr ?? "").replace(/^::ffff:/, "");
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(a) ? a : "0.0.0.0";
};

function helloState(hello: AcceptedHello, ip: string): TDeviceState {
  const h = hello.hello;
  return {
    mac: h.mac,
    kind: h.kind,
    model: h.model,
    modelDisplay: h.model,
    firmware: h.firmware,
    hostname: h.hostname,
    ip,
    uptime: 0,
    cpu: 0,
    memory: { totalBytes: 0, usedBytes: 0 },
    locating: false,
    interfaces: [],
    clients: [],
  };
}

/** Starts the WSS server on `host:port` (0 = any free port). */
export async function startVeilChannelServer(
  ctx: DeviceContext,
  tls: TlsIdentity,
  options: { host: string; port: number } & Partial<ChannelServerLimits>,
): Promise<VeilChannelServer> {
  const limits: ChannelServerLimits = {
    maxConnections: ctx.maxDevices + 1024,
    ...DEFAULT_CHANNEL_SERVER_LIMITS,
    ...options,
  };
  const keys = channelKeys(ctx);
  const server = https.createServer(
    {
      key: tls.keyPem,
      cert: tls.certPem,
      handshakeTimeout: limits.handshakeTimeoutMs,
      requestTimeout: 15_000,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    (_req, res) => {
      res.writeHead(404, { "content-length": 0 });
      res.end();
    },
  );
  server.maxConnections = limits.maxConnections;
  // Before the upgrade: a TLS socket with nothing to say is closed (ws clears this on upgrade).
  server.setTimeout(limits.idleTimeoutMs, (socket: Socket) => {
    ctx.counters.add("veil.idle_timeout");
    socket.destroy();
  });
  const admission = admitSockets(server, {
    prefix: "veil",
    maxPerHost: limits.maxConnectionsPerSource,
    connections: ctx.connectionsPerIp,
    counters: ctx.counters,
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: CHANNEL_MAX_FRAME, perMessageDeflate: false });
  server.on("upgrade", (req, socket: Duplex, head) => {
    const ip = req.socket.remoteAddress;
    if ((req.url ?? "").split("?")[0] !== "/devices") {
      ctx.counters.add("veil.bad_path");
      socket.destroy();
      return;
    }
    const authenticated = (): void => admission.release(req.socket);
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, ipv4Of(ip), hostKey(ip), authenticated));
  });
  server.on("tlsClientError", () => ctx.counters.add("veil.tls_error"));

  function onConnection(ws: WebSocket, ip: string, host: string, authenticated: () => void): void {
    const chan = new DeviceChannelServer({ keys, clock: () => ctx.now() });
    let bad = 0;
    let device: DeviceEntry | undefined;
    let live: LiveChannel | undefined;
    /** Reading is held back because the device spent its frame budget. */
    let throttle: NodeJS.Timeout | undefined;
    /** Ids of commands sent down this session: only their results are taken from it. */
    const sent = new Set<string>();
    const drop = (reason: string): void => {
      ctx.counters.add(`veil.${reason}`);
      if (++bad >= MAX_BAD_FRAMES) ws.terminate();
    };
    const helloTimer = setTimeout(() => {
      ctx.counters.add("veil.hello_timeout");
      ws.terminate();
    }, HELLO_TIMEOUT_MS);
    ws.on("error", () => ctx.counters.add("veil.socket_error"));
    ws.on("close", () => {
      clearTimeout(helloTimer);
      clearTimeout(throttle);
      if (device && live && ctx.channels.get(device.mac) === live) ctx.channels.delete(device.mac);
      if (device && live) ctx.terminalSink?.channelClosed(device.mac, live);
    });
    ws.send(chan.challenge());
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (!isBinary) return drop("malformed");
      const frame = toBytes(data);
      if (chan.identity === undefined) {
        let hello: AcceptedHello;
        try {
          hello = chan.receiveHello(frame);
        } catch (error) {
          ctx.counters.add(`veil.hello_${error instanceof DeviceCodecError ? error.reason : "malformed"}`);
          ws.close();
          return;
        }
        clearTimeout(helloTimer);
        const accepted = onHello(hello, ip, host, ws, chan, sent);
        device = accepted?.device;
        live = accepted?.live;
        // A device's own session (its device key verified) holds no place among the unauthenticated.
        if (live !== undefined) authenticated();
        return;
      }
      if (device === undefined) return drop("after_refusal");
      // A device with an open terminal also spends the terminal budget (one frame per echo).
      const budget = ctx.perDevice.take(`veil/${device.mac}`)
        ? "allowed"
        : (ctx.terminalSink?.allowFrame(device.mac) ?? "refused");
      if (budget === "refused" || (budget === "throttle" && live === undefined)) return drop("rate_limited_device");
      if (budget === "throttle" && live !== undefined && throttle === undefined) {
        // Terminal output over its budget is slowed, not cut: reading stops for a moment, so what
        // the device prints meanwhile waits in its own buffers and none of it is lost. Frames
        // already read still arrive; of those, only terminal output is taken.
        ctx.counters.add("veil.throttled_device");
        const held = live;
        held.hold(THROTTLED, true);
        throttle = setTimeout(() => {
          throttle = undefined;
          held.hold(THROTTLED, false);
        }, THROTTLE_MS);
      }
      let msg: TDeviceUpMessage;
      try {
        msg = chan.receive(frame);
      } catch (error) {
        return drop(error instanceof DeviceCodecError ? error.reason : "malformed");
      }
      // While throttled only terminal output and the results of commands sent on this session
      // (a few, each answering one) are taken; an inform is dropped, but not held against the
      // connection as a bad frame: the device did nothing wrong by printing a lot.
      if (budget === "throttle" && msg.type !== "terminal_data" && msg.type !== "command_result") {
        ctx.counters.add("veil.rate_limited_device");
        return;
      }
      onMessage(device, chan.identity.keyType, msg, drop, sent);
    });
  }

  function onHello(
    hello: AcceptedHello,
    ip: string,
    host: string,
    ws: WebSocket,
    chan: DeviceChannelServer,
    sent: Set<string>,
  ): { device: DeviceEntry; live?: LiveChannel } | undefined {
    const now = ctx.now();
    const known = ctx.inventory.devices.get(hello.mac);
    if (hello.keyType === "site") {
      if (known !== undefined && (known.dialect !== "veil" || known.adopted)) {
        ctx.counters.add("veil.reenrol_refused");
        ws.close();
        return undefined;
      }
      // Enrolments are budgeted per host and per site key (a site key leaked to one host
      // must not fill the inventory at once); a pending MAC enrolling again is charged too.
      const siteKeyId = hex(hello.keyId);
      if (!ctx.enrolmentsPerIp.available(`veil/${host}`) || !ctx.enrolmentsPerSiteKey.available(`veil/${siteKeyId}`)) {
        ctx.counters.add("veil.enrol_rate_limited");
        ws.close();
        return undefined;
      }
      if (
        known === undefined &&
        ctx.inventory.devices.size >= ctx.maxDevices &&
        ctx.inventory.evictStale(now) === undefined
      ) {
        ctx.counters.add("veil.inventory_full");
        ws.close();
        return undefined;
      }
      ctx.enrolmentsPerIp.charge(`veil/${host}`, 1);
      ctx.enrolmentsPerSiteKey.charge(`veil/${siteKeyId}`, 1);
      const d = ctx.inventory.ensure(hello.mac, "veil", now);
      const issued = chan.issueDeviceKey();
      d.veilKey = { id: hex(issued.keyId), k: Buffer.from(issued.key).toString("base64url") };
      ctx.inventory.saveKeys(d, { vk: d.veilKey });
      ctx.inventory.report(d, helloState(hello, ip), now, () => undefined);
      ctx.counters.add("veil.key_issued");
      ws.send(issued.frame);
      ctx.reported(d);
      return { device: d };
    }
    const d = known;
    if (d === undefined) {
      ws.close();
      return undefined;
    }
    if (!d.adopted) {
      d.adopted = true;
      ctx.inventory.saveDevice(d);
      ctx.counters.add("veil.adopted");
    }
    const holders = new Set<object>();
    const terminalWindow = hello.hello.terminalCredit === true ? TERMINAL_WINDOW_BYTES : undefined;
    const live: LiveChannel = {
      terminalWindow,
      send: (message) => {
        if (ws.readyState !== ws.OPEN) return false;
        if (message.type === "command") {
          if (sent.size >= MAX_PENDING_COMMANDS) sent.delete(sent.values().next().value ?? "");
          sent.add(message.id);
        }
        ws.send(chan.send(message));
        if (chan.needsRekey) ws.close();
        return true;
      },
      // A paused socket would not read the device's close frame: ws would wait its 30 s timer.
      close: () => {
        ws.resume();
        ws.close();
      },
      hold: (holder, on) => {
        const held = holders.size > 0;
        if (on) holders.add(holder);
        else holders.delete(holder);
        if (!held && holders.size > 0) {
          ctx.counters.add("veil.channel_paused");
          ws.pause();
        } else if (held && holders.size === 0) ws.resume();
      },
    };
    ctx.channels.get(d.mac)?.close();
    ctx.channels.set(d.mac, live);
    ctx.counters.add("veil.sessions");
    live.send({
      type: "welcome",
      interval: d.intervalSec,
      serverTime: now,
      adopted: true,
      ...(terminalWindow !== undefined ? { terminalWindowBytes: terminalWindow } : {}),
    });
    return { device: d, live };
  }

  function onMessage(
    d: DeviceEntry,
    keyType: "site" | "device",
    msg: TDeviceUpMessage,
    drop: (reason: string) => void,
    sent: Set<string>,
  ): void {
    if (keyType === "site") {
      // A site-key session carries the key acknowledgement and nothing else.
      if (msg.type !== "key_ack") drop("site_session_message");
      return;
    }
    switch (msg.type) {
      case "inform":
        if (msg.state.mac !== d.mac) return drop("mac_mismatch");
        ctx.inventory.report(d, msg.state, ctx.now(), () => undefined);
        ctx.counters.add("veil.accepted");
        ctx.reported(d);
        return;
      case "command_result": {
        // Only a result for a command this session carried: another device (or a replay from
        // an earlier session) cannot settle it.
        if (!sent.delete(msg.id)) return drop("foreign_command_result");
        const waiter = ctx.commandWaiters.get(msg.id);
        if (waiter)
          waiter(
            msg.ok
              ? { ok: true }
              : { ok: false, code: "device_error", message: msg.error?.message ?? "the device reported a failure" },
          );
        return;
      }
      case "terminal_data":
        if (!(ctx.terminalSink?.data(d.mac, msg) ?? false)) ctx.counters.add("veil.terminal_orphan");
        return;
      case "key_ack":
      case "hello":
        return;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
