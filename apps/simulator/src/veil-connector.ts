/**
 * Veil's device channel for one device: WSS to the companion URL of the site key, the pinned
 * certificate fingerprint checked before any frame is sent, then the DeviceChannelClient
 * state machine of @veil/devices. Site key → key issue → reconnect with the device key →
 * welcome → informs every interval; obeys reboot, locate, rename, set-interval and terminal.
 */
import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { CHANNEL_MAX_FRAME, DeviceChannelClient, type SiteKey } from "@veil/devices";
import WebSocket from "ws";
import type { SimContext } from "./context";
import type { SimDevice } from "./device";
import { injectFault } from "./faults";
import { handleCommand } from "./veil-commands";
import { toDeviceState } from "./reports";
import { sourceOptions } from "./source-address";
import type { TDeviceUpMessage } from "@veil/protocol";
import type { TerminalSession } from "./terminal";

/** Chunks of a long terminal command not yet written to the socket, at most (VeilConnector.pump). */
const PUMP_IN_FLIGHT = 4;

/** Drives one device's channel until the context stops. */
export class VeilConnector {
  private ws: WebSocket | undefined;
  private client: DeviceChannelClient | undefined;
  private seq = 0;
  private failures = 0;
  private informing = false;
  /** Open terminal sessions by id. */
  readonly terminals = new Map<string, TerminalSession>();

  constructor(
    private readonly ctx: SimContext,
    readonly device: SimDevice,
    private readonly siteKey: SiteKey,
  ) {}

  /** Connects after `delayMs` (already scaled). */
  start(delayMs: number): void {
    this.ctx.schedule(() => this.connect(), delayMs);
  }

  /** Closes the socket now (on stop or before a simulated reboot). */
  close(): void {
    this.ws?.terminate();
  }

  /** Seals and sends one message in the open session; `onFlushed` runs once it is written out. */
  send(message: TDeviceUpMessage, onFlushed?: () => void): void {
    if (!this.client || this.client.state !== "open" || this.ws?.readyState !== WebSocket.OPEN) return onFlushed?.();
    this.ws.send(this.client.send(message), onFlushed && (() => onFlushed()));
    this.ctx.stats.channelFramesSent++;
  }

  private connect(): void {
    const { ctx, device, siteKey } = this;
    const now = ctx.now();
    if (!device.isOnline(now)) return this.start(device.offlineUntil - now + 1);
    const credential = device.veil.deviceKey ?? { type: "site" as const, keyId: siteKey.keyId, key: siteKey.key };
    const client = new DeviceChannelClient({ mac: device.mac, credential, clock: ctx.now });
    const pin = siteKey.certFingerprint;
    const ws = new WebSocket(siteKey.url, {
      ...(ctx.ownSourceAddress ? sourceOptions(device.ip, siteKey.url) : {}),
      rejectUnauthorized: pin === undefined,
      maxPayload: CHANNEL_MAX_FRAME,
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    this.client = client;
    this.seq = 0;
    this.informing = false;
    ws.on("upgrade", (res) => {
      if (pin === undefined) return;
      const raw = (res.socket as TLSSocket).getPeerCertificate().raw;
      if (!raw || !createHash("sha256").update(raw).digest().equals(Buffer.from(pin))) {
        ctx.stats.pinFailures++;
        ws.terminate();
      }
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return ws.terminate();
      this.onFrame(new Uint8Array(data));
    });
    ws.on("error", () => undefined);
    ws.on("close", () => {
      if (this.ws !== ws) return;
      if (client.state === "awaiting_challenge") ctx.stats.channelConnectFailures++;
      this.ws = undefined;
      ctx.stats.terminalsOpen -= this.terminals.size;
      this.terminals.clear();
      if (ctx.stopped) return;
      const base = Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6));
      this.failures++;
      this.start((base + device.prng.int(0, 500)) * ctx.scale);
    });
  }

  private onFrame(frame: Uint8Array): void {
    const { ctx, device, client, ws } = this;
    if (!client || !ws) return;
    try {
      if (client.state === "awaiting_challenge") {
        ws.send(
          client.hello(frame, {
            kind: device.spec.kind,
            model: device.spec.model,
            firmware: device.firmware,
            hostname: device.hostname,
          }),
        );
        ctx.stats.channelSessions++;
        return;
      }
      const msg = client.receive(frame);
      switch (msg.type) {
        case "key_issue": {
          const issued = client.issuedKey;
          if (issued) device.veil.deviceKey = issued;
          this.send({ type: "key_ack", keyId: msg.keyId });
          this.failures = 0;
          ws.close(); // reconnect under the new device key
          return;
        }
        case "welcome":
          this.failures = 0;
          device.veil.welcomed = true;
          device.veil.intervalSec = msg.interval;
          if (!this.informing) {
            this.informing = true;
            this.inform(ws);
          }
          return;
        case "command":
          handleCommand(ctx, this, msg);
          return;
        case "terminal_data": {
          const t = this.terminals.get(msg.sessionId);
          if (!t) return;
          const r = t.feed(Buffer.from(msg.data, "base64url").toString("utf8"), ctx.now());
          // A rebooting shell's last words reach the companion before the link drops (terminate()
          // would discard a frame still buffered in the socket).
          this.send(
            {
              type: "terminal_data",
              sessionId: msg.sessionId,
              data: Buffer.from(r.output).toString("base64url"),
              ...(r.exit ? { eof: true } : {}),
            },
            r.reboot ? () => this.reboot() : undefined,
          );
          if (r.exit && this.terminals.delete(msg.sessionId)) ctx.stats.terminalsOpen--;
          if (r.more) this.pump(msg.sessionId, t, r.more);
          return;
        }
      }
    } catch {
      ctx.stats.channelErrors++;
      // A bad challenge leaves nothing to talk about: drop the connection and retry later.
      if (client.state === "awaiting_challenge") ws.terminate();
    }
  }

  /**
   * Sends a long command's output (`more`) as fast as the channel takes it: at most
   * PUMP_IN_FLIGHT chunks not yet written to the socket, as a shell blocks on a full pty. A
   * companion that stops reading (flow control) therefore stops the command.
   */
  private pump(sessionId: string, t: TerminalSession, more: () => string | undefined): void {
    let inFlight = 0;
    const go = (): void => {
      while (inFlight < PUMP_IN_FLIGHT) {
        if (this.terminals.get(sessionId) !== t || this.ws?.readyState !== WebSocket.OPEN) return;
        const chunk = more();
        if (chunk === undefined) return;
        inFlight += 1;
        this.send({ type: "terminal_data", sessionId, data: Buffer.from(chunk).toString("base64url") }, () => {
          inFlight -= 1;
          go();
        });
      }
    };
    go();
  }

  private inform(ws: WebSocket): void {
    const { ctx, device } = this;
    if (this.ws !== ws || ctx.stopped) return;
    if (this.client?.needsRekey) return void ws.close();
    const now = ctx.now();
    const intervalMs = device.veil.intervalSec * 1000 * ctx.scale;
    // A simulated outage or reboot drops the session; connect() waits until the device is back.
    if (injectFault(ctx, device, now, intervalMs)) return this.close();
    device.tick(now);
    this.send({ type: "inform", seq: this.seq++, state: toDeviceState(device, now) });
    ctx.schedule(() => this.inform(ws), intervalMs);
  }

  /** Simulated reboot: drop the session, go offline, reconnect when back. */
  reboot(): void {
    this.ctx.stats.reboots++;
    this.device.reboot(this.ctx.now(), this.ctx.rebootMs * this.ctx.scale);
    this.close();
  }
}
