/**
 * One UniFi inform packet, from bytes to reply bytes: header checks, key by claimed MAC,
 * decryption, replay check by IV, schema, MAC consistency, per-device flood limit, inventory
 * update, reply. Every refusal is counted under `unifi.<reason>` and returns `undefined` (the
 * HTTP layer answers 400/429 without a body). Never throws.
 *
 * Keys: an adopted device must use its authkey — a default-key packet claiming an adopted MAC
 * is refused (anyone can make one). A device not yet adopted informs on the public default
 * key and is pending, trusted for nothing. After `devices.adopt` (or with autoAdopt) the next
 * default-key inform is answered with `setparam` carrying a fresh authkey; the first packet
 * under that authkey completes the adoption.
 */
import {
  adoptReply,
  authkeyToKey,
  DeviceCodecError,
  decodeInformJson,
  encodeInformJson,
  generateAuthkey,
  INFORM_DEFAULT_KEY,
  InformReplayCache,
  informReplayWindow,
  noopReply,
  parseInformHeader,
  unifiInformToDeviceState,
  type InformHeader,
} from "@veil/devices";
import { ZUnifiInformSchema, type TUnifiReply } from "../protocol";
import type { DeviceContext } from "./device-context";
import type { DeviceEntry } from "./inventory";

/** Outcome of one packet. */
export type UnifiOutcome = { kind: "reply"; body: Uint8Array } | { kind: "drop"; status: 400 | 429 | 500 };

function decodeWith(packet: Uint8Array, keys: Uint8Array[]): { header: InformHeader; json: unknown; key: Uint8Array } {
  let last: unknown;
  for (const key of keys) {
    try {
      return { ...decodeInformJson(packet, key), key };
    } catch (error) {
      last = error;
      if (!(error instanceof DeviceCodecError) || error.reason !== "auth_failed") throw error;
    }
  }
  throw last instanceof Error ? last : DeviceCodecError.authFailed();
}

/** Handles UniFi informs for one companion. */
export class UnifiIngest {
  /** IVs of the last hour of informs per device, at the interval it was told (3,600 at 1 s). */
  readonly #replay = new InformReplayCache(informReplayWindow(10), 20_000);
  /** When an ingest failure was last logged. */
  #internalLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly ctx: DeviceContext) {}

  /** Processes one POST body. */
  handle(packet: Uint8Array): UnifiOutcome {
    const { ctx } = this;
    try {
      return this.#handle(packet);
    } catch (error) {
      if (error instanceof DeviceCodecError) {
        ctx.counters.add(`unifi.${error.reason}`);
        return { kind: "drop", status: 400 };
      }
      // Not the packet's fault (the codec names every way a packet is bad): counted apart and
      // logged (at most once a minute), so a bug on the ingest path is not taken for a
      // malformed packet.
      ctx.counters.add("unifi.internal");
      const now = ctx.now();
      if (now - this.#internalLoggedAt >= 60_000) {
        this.#internalLoggedAt = now;
        ctx.logger.error("inform ingest failed", {
          error: error instanceof Error ? `${error.name}: ${error.message}` : "unknown",
        });
      }
      return { kind: "drop", status: 500 };
    }
  }

  #handle(packet: Uint8Array): UnifiOutcome {
    const { ctx } = this;
    const header = parseInformHeader(packet);
    const known = ctx.inventory.devices.get(header.mac);
    if (known && known.dialect !== "unifi") {
      ctx.counters.add("unifi.wrong_dialect");
      return { kind: "drop", status: 400 };
    }
    // Which keys this MAC may use: authkey when adopted (and the pending one during adoption);
    // the default key only while not adopted.
    if (
      known === undefined &&
      ctx.inventory.devices.size >= ctx.maxDevices &&
      !ctx.inventory.evictStalePending(ctx.now(), 10 * 60_000)
    ) {
      ctx.counters.add("unifi.inventory_full");
      return { kind: "drop", status: 429 };
    }
    const keys: Uint8Array[] = [];
    if (known?.authkey !== undefined) keys.push(authkeyToKey(known.authkey));
    if (known?.pendingAuthkey !== undefined) keys.push(authkeyToKey(known.pendingAuthkey));
    if (known === undefined || !known.adopted) keys.push(INFORM_DEFAULT_KEY);
    const { json, key } = decodeWith(packet, keys);
    // An hour at the interval the device was told (a bad stored interval counts as 1 s).
    const window = informReplayWindow(Math.max(1, known?.intervalSec ?? ctx.defaultIntervalSec));
    if (!this.#replay.check(header.mac, header.iv, window))
      throw new DeviceCodecError("replayed", "inform IV seen before");
    const parsed = ZUnifiInformSchema.safeParse(json);
    if (!parsed.success || parsed.data.mac !== header.mac)
      throw new DeviceCodecError("malformed", "inform payload fails its schema");
    const state = unifiInformToDeviceState(parsed.data);
    if (!ctx.perDevice.take(`unifi/${header.mac}`)) {
      ctx.counters.add("unifi.rate_limited_device");
      return { kind: "drop", status: 429 };
    }
    const now = ctx.now();
    const usedDefault = key === INFORM_DEFAULT_KEY;
    const d = ctx.inventory.ensure(header.mac, "unifi", now);
    if (
      !usedDefault &&
      d.pendingAuthkey !== undefined &&
      Buffer.from(key).equals(Buffer.from(authkeyToKey(d.pendingAuthkey)))
    ) {
      // First packet under the new authkey: adoption complete.
      d.authkey = d.pendingAuthkey;
      delete d.pendingAuthkey;
      d.adopted = true;
      ctx.inventory.saveKeys(d, { ak: d.authkey, pak: null });
      ctx.inventory.saveDevice(d);
      ctx.counters.add("unifi.adopted");
    }
    ctx.inventory.report(d, state, now, () => undefined);
    ctx.counters.add(usedDefault ? "unifi.accepted_default_key" : "unifi.accepted");
    if (parsed.data.cmd_results) this.#cmdResults(parsed.data.cmd_results);
    ctx.reported(d);
    return { kind: "reply", body: encodeInformJson(this.#reply(d, usedDefault), { mac: header.mac, key }) };
  }

  #reply(d: DeviceEntry, usedDefault: boolean): TUnifiReply {
    const { ctx } = this;
    if (usedDefault) {
      if (d.pendingAuthkey === undefined && ctx.autoAdopt) this.beginAdoption(d);
      if (d.pendingAuthkey !== undefined) return adoptReply(d.pendingAuthkey, undefined, ctx.now);
      return noopReply(this.#interval(d), ctx.now);
    }
    const queue = ctx.unifiQueue.get(d.mac);
    const next = queue?.shift();
    if (queue && queue.length === 0) ctx.unifiQueue.delete(d.mac);
    if (next) {
      next.delivered();
      return next.reply;
    }
    return noopReply(this.#interval(d), ctx.now);
  }

  #interval(d: DeviceEntry): number {
    return d.intervalSec;
  }

  #cmdResults(results: { _id: string; ok: boolean; output: string }[]): void {
    for (const r of results) {
      const waiter = this.ctx.commandWaiters.get(r._id);
      if (waiter)
        waiter(r.ok ? { ok: true } : { ok: false, code: "device_error", message: "the device reported a failure" });
    }
  }

  /** Starts adopting a pending UniFi device: a fresh authkey goes out with its next inform. */
  beginAdoption(d: DeviceEntry): void {
    d.pendingAuthkey = generateAuthkey();
    this.ctx.inventory.saveKeys(d, { pak: d.pendingAuthkey });
  }

  /** Forgets a device's replay memory (re-adoption). */
  forget(mac: string): void {
    this.#replay.forget(mac);
  }
}
