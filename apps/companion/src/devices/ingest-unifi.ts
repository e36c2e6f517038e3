/**
 * One UniFi inform packet, from bytes to reply bytes: header checks, key by claimed MAC, the
 * source's payload budgets, decryption, JSON shape bounds, schema, MAC consistency, replay
 * check, per-device flood limit, inventory update, reply. Every refusal is counted under
 * `unifi.<reason>` and returns `undefined` (the HTTP layer answers 400/429 without a body).
 * Never throws.
 *
 * Keys: an adopted device must use its authkey — a default-key packet claiming an adopted MAC
 * is refused (anyone can make one). A device not yet adopted informs on the public default
 * key and is pending, trusted for nothing. After `devices.adopt` (or with autoAdopt) the next
 * default-key inform is answered with `setparam` carrying a fresh authkey; the first packet
 * under that authkey completes the adoption. A device adopted over its pinned HTTPS API
 * (`handOverAuthkey`) got its authkey there: it is never sent in a reply, and the device's first
 * inform is already under it.
 *
 * Unauthenticated (default-key) traffic is bounded on every axis it could fill: decompressed
 * bytes per source (a smaller budget than secret-key traffic), pending devices per source,
 * and it never enters the replay memory (only packets under a secret key that passed the
 * schema do), so it cannot push an adopted device's memory out.
 */
import { createHash } from "node:crypto";
import {
  adoptReply,
  authkeyToKey,
  DeviceCodecError,
  decodeInformPacket,
  encodeInformJson,
  generateAuthkey,
  INFORM_DEFAULT_KEY,
  INFORM_MAX_PLAINTEXT,
  INFORM_MAX_PLAINTEXT_AUTHENTICATED,
  INFORM_MAX_TOKENS,
  INFORM_MAX_TOKENS_AUTHENTICATED,
  InformReplayCache,
  informReplayWindow,
  noopReply,
  parseInformHeader,
  parseInformJson,
  unifiInformToDeviceState,
  type InformHeader,
} from "@veil/devices";
import { ZUnifiInformSchema, type TUnifiReply } from "../protocol";
import type { DeviceContext } from "./device-context";
import type { DeviceEntry } from "./inventory";
import { MAX_HANDED_AUTHKEYS } from "./inventory-types";

/** Outcome of one packet. */
export type UnifiOutcome = { kind: "reply"; body: Uint8Array } | { kind: "drop"; status: 400 | 429 | 500 };

/** Commands sent to UniFi devices remembered for matching their `cmd_results`. */
const MAX_SENT_COMMANDS = 1024;

/**
 * The authkey `key` opens when it is one the device was given but has not used yet (with the
 * certificate of the device it was handed to over HTTPS, if it went that way), else undefined.
 */
function newKeyUsed(d: DeviceEntry, key: Uint8Array): { k: string; fp?: string } | undefined {
  const candidates = [
    ...(d.pendingAuthkey !== undefined ? [{ k: d.pendingAuthkey }] : []),
    ...(d.handedAuthkeys ?? []),
  ];
  return candidates.find((c) => Buffer.from(key).equals(Buffer.from(authkeyToKey(c.k))));
}

/**
 * Decodes `packet` with the first of `keys` that opens it. The public default key, which anyone
 * can seal under, gets the tight plaintext cap; a device's own authkey the larger one (a dense
 * access point's client table can pass 512 KiB).
 */
function decodeWith(
  packet: Uint8Array,
  keys: Uint8Array[],
): { header: InformHeader; plaintext: Uint8Array; key: Uint8Array } {
  let last: unknown;
  for (const key of keys) {
    try {
      const cap = key === INFORM_DEFAULT_KEY ? INFORM_MAX_PLAINTEXT : INFORM_MAX_PLAINTEXT_AUTHENTICATED;
      return { ...decodeInformPacket(packet, key, cap), key };
    } catch (error) {
      last = error;
      if (!(error instanceof DeviceCodecError) || error.reason !== "auth_failed") throw error;
    }
  }
  throw last instanceof Error ? last : DeviceCodecError.authFailed();
}

/** Handles UniFi informs for one companion. */
export class UnifiIngest {
  /**
   * Fingerprints of the last hour of informs per device under a secret key (authkey or pending
   * authkey), at the interval it was told (3,600 at 1 s). Only devices in the inventory that
   * hold a secret key get an entry, and evicted devices are forgotten, so with room for every
   * device of the inventory no entry is ever pushed out by another device's traffic.
   */
  readonly #replay: InformReplayCache;
  /** New pending devices per host (pruned as they are adopted or evicted). */
  readonly #pendingBySource = new Map<string, Set<string>>();
  /** `cmd` ids sent to a device, by id: a result counts only from the device it went to. */
  readonly #sentCommands = new Map<string, string>();
  /** When an ingest failure was last logged. */
  #internalLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly ctx: DeviceContext) {
    this.#replay = new InformReplayCache(informReplayWindow(10), Math.max(1, ctx.maxDevices));
    ctx.inventory.onEvicted((mac) => this.forget(mac));
  }

  /**
   * Processes one POST body from `source` (a `sourceKey`, for budgets) and `host` (a `hostKey`,
   * for the pending-device cap); direct callers may leave them out.
   */
  handle(packet: Uint8Array, source = "local", host = source): UnifiOutcome {
    const { ctx } = this;
    try {
      return this.#handle(packet, source, host);
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

  #handle(packet: Uint8Array, source: string, host: string): UnifiOutcome {
    const { ctx } = this;
    const header = parseInformHeader(packet);
    const known = ctx.inventory.devices.get(header.mac);
    if (known && known.dialect !== "unifi") {
      ctx.counters.add("unifi.wrong_dialect");
      return { kind: "drop", status: 400 };
    }
    // A source that spent its payload budget gets nothing decrypted or parsed until it refilled.
    if (!ctx.informKiBPerIp.available(source)) {
      ctx.counters.add("unifi.rate_limited_ip");
      return { kind: "drop", status: 429 };
    }
    // Which keys this MAC may use: authkey when adopted (and the pending one during adoption);
    // the default key only while not adopted, and only while the source has default-key budget.
    const keys: Uint8Array[] = [];
    if (known?.authkey !== undefined) keys.push(authkeyToKey(known.authkey));
    if (known?.pendingAuthkey !== undefined) keys.push(authkeyToKey(known.pendingAuthkey));
    for (const h of known?.handedAuthkeys ?? []) keys.push(authkeyToKey(h.k));
    if (known === undefined || !known.adopted) {
      if (ctx.defaultKeyKiBPerIp.available(source)) keys.push(INFORM_DEFAULT_KEY);
      else if (keys.length === 0) {
        ctx.counters.add("unifi.rate_limited_default_key");
        return { kind: "drop", status: 429 };
      }
    }
    const { plaintext, key } = decodeWith(packet, keys);
    const usedDefault = key === INFORM_DEFAULT_KEY;
    // Charged by what was decompressed: what the scan and JSON.parse below will cost.
    const kib = Math.max(1, Math.ceil(plaintext.length / 1024));
    ctx.informKiBPerIp.charge(source, kib);
    if (usedDefault) ctx.defaultKeyKiBPerIp.charge(source, kib);
    const parsed = ZUnifiInformSchema.safeParse(
      parseInformJson(plaintext, usedDefault ? INFORM_MAX_TOKENS : INFORM_MAX_TOKENS_AUTHENTICATED),
    );
    if (!parsed.success || parsed.data.mac !== header.mac)
      throw new DeviceCodecError("malformed", "inform payload fails its schema");
    if (known === undefined && !this.#roomForNew(host)) return { kind: "drop", status: 429 };
    if (!usedDefault) {
      // Replay memory: only authenticated packets that passed the schema enter it. CBC is
      // keyed by the decompressed payload: CBC does not authenticate the IV, and flipping IV
      // bytes flips bytes of zlib's header (FLEVEL) without changing what it inflates to, so
      // one captured packet had four valid IVs. GCM authenticates its IV.
      // An hour at the interval the device was told (a bad stored interval counts as 1 s).
      const window = informReplayWindow(Math.max(1, known?.intervalSec ?? ctx.defaultIntervalSec));
      const fingerprint =
        header.cipher === "cbc" ? new Uint8Array(createHash("sha256").update(plaintext).digest()) : header.iv;
      if (!this.#replay.check(header.mac, fingerprint.subarray(0, 16), window))
        throw new DeviceCodecError("replayed", "inform seen before");
    }
    const state = unifiInformToDeviceState(parsed.data);
    if (!ctx.perDevice.take(`unifi/${header.mac}`)) {
      ctx.counters.add("unifi.rate_limited_device");
      return { kind: "drop", status: 429 };
    }
    const now = ctx.now();
    const d = ctx.inventory.ensure(header.mac, "unifi", now);
    if (known === undefined) this.#addPending(host, d.mac);
    const adopting = usedDefault ? undefined : newKeyUsed(d, key);
    if (adopting !== undefined) {
      // First packet under a new authkey (sent in setparam, or handed over HTTPS): adoption complete.
      d.authkey = adopting.k;
      if (adopting.fp !== undefined) d.authkeyCert = adopting.fp;
      else delete d.authkeyCert;
      delete d.pendingAuthkey;
      delete d.handedAuthkeys;
      d.adopted = true;
      ctx.inventory.saveKeys(d, { ak: d.authkey, akc: adopting.fp ?? null, pak: null, hak: null });
      ctx.inventory.saveDevice(d);
      ctx.counters.add("unifi.adopted");
    }
    ctx.inventory.report(d, state, now, () => undefined);
    ctx.counters.add(usedDefault ? "unifi.accepted_default_key" : "unifi.accepted");
    // Results count only under the device's own key, and only for commands sent to it.
    if (parsed.data.cmd_results && !usedDefault) this.#cmdResults(d.mac, parsed.data.cmd_results);
    ctx.reported(d);
    return { kind: "reply", body: encodeInformJson(this.#reply(d, usedDefault), { mac: header.mac, key }) };
  }

  /**
   * Room for a new (default-key) device from host `source`: under its cap of pending devices, and
   * in the inventory (evicting a stale pending device when full). Counts what it refuses.
   */
  #roomForNew(source: string): boolean {
    const { ctx } = this;
    const mine = this.#pendingBySource.get(source);
    if (mine !== undefined) {
      for (const m of mine) if (ctx.inventory.devices.get(m)?.adopted !== false) mine.delete(m);
      if (mine.size >= ctx.maxPendingPerSource) {
        ctx.counters.add("unifi.pending_per_source");
        return false;
      }
    }
    if (ctx.inventory.devices.size < ctx.maxDevices) return true;
    if (ctx.inventory.evictStale(ctx.now()) === undefined) {
      ctx.counters.add("unifi.inventory_full");
      return false;
    }
    return true;
  }

  #addPending(source: string, mac: string): void {
    let mine = this.#pendingBySource.get(source);
    if (mine === undefined) {
      if (this.#pendingBySource.size >= this.ctx.maxDevices) this.#prunePending();
      mine = new Set();
      this.#pendingBySource.set(source, mine);
    }
    mine.add(mac);
  }

  /** Drops sources whose pending devices were all adopted or evicted. */
  #prunePending(): void {
    for (const [source, macs] of this.#pendingBySource) {
      for (const m of macs) if (this.ctx.inventory.devices.get(m)?.adopted !== false) macs.delete(m);
      if (macs.size === 0) this.#pendingBySource.delete(source);
    }
  }

  #reply(d: DeviceEntry, usedDefault: boolean): TUnifiReply {
    const { ctx } = this;
    if (usedDefault) {
      // autoAdopt leaves a device alone that was handed a key over HTTPS: that key never goes out
      // under the default key (anyone can read that), and neither does a second one in its place.
      if (d.pendingAuthkey === undefined && d.handedAuthkeys === undefined && ctx.autoAdopt) this.beginAdoption(d);
      if (d.pendingAuthkey !== undefined) return adoptReply(d.pendingAuthkey, undefined, ctx.now);
      return noopReply(this.#interval(d), ctx.now);
    }
    const queue = ctx.unifiQueue.get(d.mac);
    const next = queue?.shift();
    if (queue && queue.length === 0) ctx.unifiQueue.delete(d.mac);
    if (next) {
      if (next.reply._type === "cmd") this.#rememberCommand(next.reply._id, d.mac);
      next.delivered();
      return next.reply;
    }
    return noopReply(this.#interval(d), ctx.now);
  }

  #interval(d: DeviceEntry): number {
    return d.intervalSec;
  }

  #rememberCommand(id: string, mac: string): void {
    if (this.#sentCommands.size >= MAX_SENT_COMMANDS) {
      const oldest = this.#sentCommands.keys().next().value;
      if (oldest !== undefined) this.#sentCommands.delete(oldest);
    }
    this.#sentCommands.set(id, mac);
  }

  #cmdResults(mac: string, results: { _id: string; ok: boolean; output: string }[]): void {
    for (const r of results) {
      if (this.#sentCommands.get(r._id) !== mac) {
        this.ctx.counters.add("unifi.foreign_cmd_result");
        continue;
      }
      this.#sentCommands.delete(r._id);
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

  /**
   * Whether the device presenting certificate `fp` may be handed an authkey for `mac`: the MAC is
   * free or a UniFi device's, and if adopted, its authkey was handed over HTTPS to this very
   * certificate (a host that merely answers at the address, or a key that went the inform way,
   * never re-keys an adopted device).
   */
  mayHandOver(mac: string, fp: string): boolean {
    const known = this.ctx.inventory.devices.get(mac);
    return known === undefined || (known.dialect === "unifi" && (!known.adopted || known.authkeyCert === fp));
  }

  /**
   * Adoption over the device's pinned HTTPS API: a fresh authkey for `mac`, handed to the device
   * presenting certificate `fp`, that the caller sends in that request and that never goes out
   * in an inform reply. The device's first inform under it (or under one handed before: a
   * retry's) completes the adoption; an adopted device's old authkey works until then. A key
   * pending the inform way is withdrawn (it would go out under the default key). Undefined when
   * refused ({@link mayHandOver}) or when the inventory is full.
   */
  handOverAuthkey(mac: string, fp: string): string | undefined {
    const { ctx } = this;
    const known = ctx.inventory.devices.get(mac);
    if (!this.mayHandOver(mac, fp)) return undefined;
    if (
      known === undefined &&
      ctx.inventory.devices.size >= ctx.maxDevices &&
      ctx.inventory.evictStale(ctx.now()) === undefined
    )
      return undefined;
    const d = known ?? ctx.inventory.ensure(mac, "unifi", ctx.now());
    const handed = { k: generateAuthkey(), at: ctx.now(), fp };
    d.handedAuthkeys = [...(d.handedAuthkeys ?? []), handed].slice(-MAX_HANDED_AUTHKEYS);
    delete d.pendingAuthkey;
    ctx.inventory.saveKeys(d, { pak: null, hak: d.handedAuthkeys });
    return handed.k;
  }

  /** Forgets a device's replay memory (re-adoption). */
  forget(mac: string): void {
    this.#replay.forget(mac);
  }
}
