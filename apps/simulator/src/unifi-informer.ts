/**
 * The UniFi inform loop of one device: POST a TNBU packet every interval (default key until
 * adopted, then the authkey from `setparam`), decode the controller's reply under the same key,
 * and obey it: noop interval, setparam, reboot, cmd, upgrade, setdefault.
 */
import {
  authkeyToKey,
  DeviceCodecError,
  decodeInformJson,
  encodeInformJson,
  INFORM_DEFAULT_KEY,
  INFORM_HEADER_LENGTH,
  INFORM_MAX_PAYLOAD,
  parseMgmtCfg,
  type InformCipher,
  type InformCompression,
} from "@veil/devices";
import type { SimContext } from "./context";
import type { SimDevice } from "./device";
import { ZUnifiReplySchema, type TUnifiReply } from "@veil/protocol";
import { injectFault } from "./faults";
import { postBinary } from "./http-post";
import { toUnifiInform } from "./reports";
import { runShell } from "./shell";
import { sourceOptions } from "./source-address";

/** Packet format choices for one device. */
export interface InformFormat {
  cipher: InformCipher;
  compression: InformCompression;
}

/** Drives one device's inform cycle until the context stops. */
export class UnifiInformer {
  /** Last error logged, so a dead controller does not log once per device per interval. */
  private lastError: string | undefined;

  constructor(
    private readonly ctx: SimContext,
    private readonly device: SimDevice,
    private readonly format: InformFormat,
  ) {}

  /** Starts the loop after `delayMs` (already scaled). */
  start(delayMs: number): void {
    this.ctx.schedule(() => void this.cycle(), delayMs);
  }

  private next(ms: number): void {
    this.ctx.schedule(() => void this.cycle(), ms);
  }

  private async cycle(): Promise<void> {
    const { ctx, device } = this;
    const now = ctx.now();
    const url = device.unifi.informUrl;
    const intervalMs = device.unifi.intervalSec * 1000 * ctx.scale;
    if (url === undefined) return this.next(intervalMs);
    if (!device.isOnline(now)) return this.next(device.offlineUntil - now + 1);
    if (injectFault(ctx, device, now, intervalMs)) return this.next(device.offlineUntil - now + 1);
    device.tick(now);
    const key = device.unifi.authkey ? authkeyToKey(device.unifi.authkey) : INFORM_DEFAULT_KEY;
    let problem: string | undefined;
    try {
      const packet = encodeInformJson(toUnifiInform(device, now), { mac: device.mac, key, ...this.format });
      ctx.stats.informsSent++;
      const res = await postBinary(url, packet, INFORM_HEADER_LENGTH + INFORM_MAX_PAYLOAD, {
        source: ctx.ownSourceAddress ? sourceOptions(device.ip, url) : {},
      });
      if (res.status === 200 && res.body.length > 0) {
        const { json } = decodeInformJson(res.body, key);
        const reply = ZUnifiReplySchema.safeParse(json);
        if (reply.success) this.apply(reply.data);
        else problem = "reply fails its schema";
      } else if (res.status !== 200) {
        problem = `HTTP ${res.status}`;
      }
    } catch (err) {
      problem = err instanceof DeviceCodecError ? `reply ${err.reason}` : err instanceof Error ? err.message : "error";
    }
    if (problem !== undefined) {
      // Counted every time, logged once until it changes or an inform succeeds.
      ctx.stats.informErrors++;
      if (problem !== this.lastError) ctx.log(`inform ${device.mac}: ${problem}`);
      this.lastError = problem;
      if (ctx.stopped) return;
      return this.next(device.unifi.intervalSec * 1000 * ctx.scale);
    }
    this.lastError = undefined;
    if (ctx.stopped) return;
    const after = ctx.now();
    const wait = device.isOnline(after) ? device.unifi.intervalSec * 1000 * ctx.scale : device.offlineUntil - after + 1;
    this.next(wait);
  }

  private apply(reply: TUnifiReply): void {
    const { ctx, device } = this;
    const now = ctx.now();
    ctx.stats.repliesApplied++;
    switch (reply._type) {
      case "noop":
        device.unifi.intervalSec = reply.interval;
        return;
      case "setparam": {
        try {
          const cfg = parseMgmtCfg(reply.mgmt_cfg);
          device.unifi.authkey = cfg["mgmt.authkey"];
          if (cfg["mgmt.url"] !== undefined) device.unifi.informUrl = cfg["mgmt.url"];
          if (cfg["mgmt.interval"] !== undefined)
            device.unifi.intervalSec = Math.min(3600, Math.max(1, Number(cfg["mgmt.interval"])));
        } catch {
          ctx.stats.informErrors++;
          ctx.log(`inform ${device.mac}: setparam's mgmt_cfg does not parse`);
        }
        return;
      }
      case "reboot":
        this.reboot(now);
        return;
      case "cmd": {
        ctx.stats.commands++;
        const r = runShell(device, reply.cmd, now);
        device.unifi.cmdResults.push({ _id: reply._id, ok: r.ok, output: r.output.slice(0, 16_384) });
        if (device.unifi.cmdResults.length > 16) device.unifi.cmdResults.shift();
        if (r.reboot) this.reboot(now);
        return;
      }
      case "upgrade":
        device.firmware = reply.version;
        this.reboot(now);
        return;
      case "setdefault":
        delete device.unifi.authkey;
        return;
    }
  }

  private reboot(now: number): void {
    this.ctx.stats.reboots++;
    this.device.reboot(now, this.ctx.rebootMs * this.ctx.scale);
  }
}
