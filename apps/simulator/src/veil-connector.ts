/**
 * Veil's device channel for one device: WSS to the companion URL of the site key, the pinned
 * certificate fingerprint checked before any frame is sent, then the DeviceChannelClient
 * state machine of @veil/devices. Site key → key issue → reconnect with the device key →
 * welcome → informs every interval; obeys reboot, locate, rename, set-interval and terminal.
 * Offers per-terminal flow control in its hello unless the simulator plays older firmware.
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
import { TerminalOutbox } from "./terminal-outbox";

/** An open terminal: the shell and its output on the way out. */
export interface OpenShell {
  readonly shell: TerminalSession;
  readonly out: TerminalOutbox;
  /** The shell exited; the session goes once its last words (`eof`) are written out. */
  exiting: boolean;
  /** What waits for last words (the session's end, a reboot); also run if the session or the link is dropped first. */
  readonly finish: (() => void)[];
}

/** Drives one device's channel until the context stops. */
export class VeilConnector {
  private ws: WebSocket | undefined;
  private client: DeviceChannelClient | undefined;
  private seq = 0;
  private failures = 0;
  private informing = false;
  /** Terminal output each session may have unacknowledged, when the companion's welcome named it. */
  private terminalWindow: number | undefined;
  /** Open terminal sessions by id. */
  readonly terminals = new Map<string, OpenShell>();

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
    this.terminalWindow = undefined;
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
      const dropped = [...this.terminals.values()];
      this.terminals.clear();
      if (ctx.stopped) return;
      // A reboot typed behind output that was waiting for credit still happens.
      for (const t of dropped) for (const f of t.finish.splice(0)) f();
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
            ...(ctx.terminalCredit ? { terminalCredit: true as const } : {}),
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
          this.terminalWindow = msg.terminalWindowBytes;
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
          if (!t || t.exiting) return;
          const r = t.shell.feed(Buffer.from(msg.data, "base64url").toString("utf8"), ctx.now());
          t.exiting = r.exit;
          // A rebooting shell's last words reach the companion before the link drops (terminate()
          // would discard a frame still buffered in the socket); an exiting one's session stays
          // until they are out (they may wait for credit).
          let finished = false;
          const finish = (): void => {
            if (finished) return;
            finished = true;
            if (r.exit && this.terminals.get(msg.sessionId) === t) this.closeTerminal(msg.sessionId);
            if (r.reboot) this.reboot();
          };
          if (r.exit || r.reboot) t.finish.push(finish);
          t.out.write(r.output, { eof: r.exit, ...(r.exit || r.reboot ? { then: finish } : {}) });
          if (r.more) this.pump(msg.sessionId, t, r.more);
          return;
        }
        case "terminal_ack":
          this.terminals.get(msg.sessionId)?.out.ack(msg.bytes);
          return;
      }
    } catch {
      ctx.stats.channelErrors++;
      // A bad challenge leaves nothing to talk about: drop the connection and retry later.
      if (client.state === "awaiting_challenge") ws.terminate();
    }
  }

  /** Opens a terminal session (`terminal-open`) and prints its banner. */
  openTerminal(shell: TerminalSession): void {
    if (this.terminals.has(shell.id)) this.closeTerminal(shell.id);
    const out = new TerminalOutbox(shell.id, this.terminalWindow, (message, onFlushed) =>
      this.send(message, onFlushed),
    );
    this.terminals.set(shell.id, { shell, out, exiting: false, finish: [] });
    this.ctx.stats.terminalsOpen++;
    out.write(shell.open());
  }

  /** Drops a terminal session (`terminal-close`, `exit`); false when none had that id. */
  closeTerminal(sessionId: string): boolean {
    const t = this.terminals.get(sessionId);
    if (t === undefined) return false;
    this.terminals.delete(sessionId);
    this.ctx.stats.terminalsOpen--;
    // A reboot typed into it happens even if its last words never went out.
    for (const f of t.finish.splice(0)) f();
    return true;
  }

  /**
   * Prints a long command's output (`more`) as fast as the terminal's outbox takes it, as a shell
   * blocks on a full pty: a companion that stops reading, or stops returning credit, therefore
   * stops the command.
   */
  private pump(sessionId: string, t: OpenShell, more: () => string | undefined): void {
    t.out.onReady = () => {
      while (t.out.ready) {
        if (this.terminals.get(sessionId) !== t || this.ws?.readyState !== WebSocket.OPEN) return;
        const chunk = more();
        if (chunk === undefined) {
          t.out.onReady = undefined;
          return;
        }
        t.out.write(chunk);
      }
    };
    t.out.onReady();
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
