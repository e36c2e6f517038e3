/**
 * E2E request handlers of the device catalogue (packages/protocol/src/companion/devices.ts).
 * The dispatcher has already checked the role from the signed grant and parsed the body with
 * the catalogue schema; handlers re-parse (cheap) to get typed values. Without a running
 * device service every handler fails with `unavailable`; an unknown MAC in `devices.get` is
 * `bad_request`.
 */
import {
  ZDevicesAdoptBodySchema,
  ZDevicesGetBodySchema,
  ZDevicesListBodySchema,
  ZDevicesLocateBodySchema,
  ZDevicesRebootBodySchema,
  ZDevicesRenameBodySchema,
  ZDevicesSetIntervalBodySchema,
  ZDevicesWatchBodySchema,
  ZOutagesListBodySchema,
  ZSiteKeyRollBodySchema,
  type DEVICE_REQUEST_CATALOGUE,
  type TDeviceCommandRecord,
  type TDevicesChanged,
} from "../protocol";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { RequestContext, RequestHandler } from "../e2e/request-context";
import type { DeviceService } from "./device-service";
import type { Inventory } from "./inventory";
import { countFitting, jsonBytes, LIST_BUDGET_BYTES } from "./message-budget";
import { getDevice, listDevices, listOutages } from "./query-devices";
import { runDeviceCommand, type DeviceCommand } from "./run-device-command";

type DeviceRequestType = keyof typeof DEVICE_REQUEST_CATALOGUE;

type StatusCounts = { online: number; offline: number; pending: number };

function statusCounts(inv: Inventory): StatusCounts {
  let online = 0;
  let offline = 0;
  for (const d of inv.devices.values()) {
    if (d.status === "online") online++;
    else if (d.status === "offline") offline++;
  }
  return { online, offline, pending: inv.devices.size - online - offline };
}

/**
 * How stale the totals in a `devices.changed` event may be: every watch tick shares one count.
 * A second: a device is offline only after three missed 10 s informs, so a total a second late
 * says nothing wrong, and with informs arriving every millisecond the count was redone on every
 * tick (10 walks of 10,000 devices a second, 4 % of the companion's CPU).
 */
const WATCH_COUNTS_MAX_AGE_MS = 1000;
const watchCounts = new WeakMap<Inventory, { seq: number; at: number; counts: StatusCounts; key: string }>();

/**
 * The totals for watch events: walking every device is the costliest part of a tick at 10,000
 * devices, and every open watch ticks, so they share one count, recomputed once the inventory
 * changed and the count is older than WATCH_COUNTS_MAX_AGE_MS. The device rows themselves are
 * never stale; only the totals may lag by that much.
 */
function sharedStatusCounts(inv: Inventory, now: number): { counts: StatusCounts; key: string } {
  const cached = watchCounts.get(inv);
  if (cached && (cached.seq === inv.changeSeq || now - cached.at < WATCH_COUNTS_MAX_AGE_MS)) return cached;
  const counts = statusCounts(inv);
  const fresh = { seq: inv.changeSeq, at: now, counts, key: JSON.stringify(counts) };
  watchCounts.set(inv, fresh);
  return fresh;
}

/** The handlers; `service()` returns the running service or undefined. */
export function createDeviceRequestHandlers(
  service: () => DeviceService | undefined,
): Record<DeviceRequestType, RequestHandler> {
  const need = (): DeviceService => {
    const s = service();
    if (s === undefined) throw new RequestRefusedError("unavailable");
    return s;
  };
  const command = (mac: string, cmd: DeviceCommand, ctx: RequestContext): Promise<TDeviceCommandRecord> => {
    const s = need();
    return runDeviceCommand(s.ctx, mac, cmd, ctx.grant.accountId, s.commandTimeoutMs);
  };
  const siteKeyResult = (s: DeviceService, k: ReturnType<DeviceService["siteKey"]>): unknown => ({
    siteKey: k.text,
    keyId: k.entry.id,
    createdAt: k.entry.at,
    certFingerprint: s.tls.fingerprint,
  });
  return {
    "devices.list": (body) => listDevices(need().ctx.inventory, ZDevicesListBodySchema.parse(body)),
    "devices.get": (body, ctx) => {
      const b = ZDevicesGetBodySchema.parse(body);
      const detail = getDevice(need().ctx.inventory, b.mac, b.historyMinutes, ctx.now());
      if (detail === undefined) throw new RequestRefusedError("bad_request");
      return detail;
    },
    "devices.watch": (body, ctx) => {
      const { intervalMs, macs } = ZDevicesWatchBodySchema.parse(body);
      const inv = need().ctx.inventory;
      const only = macs === undefined ? undefined : new Set(macs);
      let seq = inv.changeSeq;
      let lastCounts = "";
      /** Changed MACs not sent yet: an event carries the rows that fit one message, the next tick the rest. */
      const owed = new Set<string>();
      const produce = (): TDevicesChanged | undefined => {
        const all = inv.changedSince(seq);
        seq = inv.changeSeq;
        if (all !== undefined && all.length === 0 && owed.size === 0) return undefined;
        const { counts, key: countsKey } = sharedStatusCounts(inv, ctx.now());
        // When the feed cannot tell what changed (`all` undefined), every watched MAC is owed; a
        // watch of the whole inventory owing more than 100 rows lists again instead.
        for (const mac of all ?? only ?? []) if (only === undefined || only.has(mac)) owed.add(mac);
        const at = ctx.now();
        if (only === undefined && (all === undefined || owed.size > 100)) {
          owed.clear();
          lastCounts = countsKey;
          return { at, devices: [], removed: [], resync: true, counts };
        }
        // Nothing on screen changed and the totals are the same: stay quiet.
        if (owed.size === 0 && countsKey === lastCounts) return undefined;
        lastCounts = countsKey;
        const removed = [...owed].filter((mac) => !inv.devices.has(mac));
        const devices = inv.summaries(owed);
        devices.length = countFitting(devices, LIST_BUDGET_BYTES - jsonBytes(removed), true);
        for (const mac of removed) owed.delete(mac);
        for (const d of devices) owed.delete(d.mac);
        return { at, devices, removed, resync: false, counts };
      };
      return { subscriptionId: ctx.subscribe({ intervalMs, type: "devices.changed", produce }) };
    },
    "devices.stats": () => {
      const s = need();
      return {
        devices: statusCounts(s.ctx.inventory),
        counters: s.ctx.counters.toJSON(),
        store: { logBytes: s.store.logBytes, records: s.store.records, lastCompactionAt: s.store.lastCompactionAt },
      };
    },
    "outages.list": (body) => listOutages(need().ctx.inventory, ZOutagesListBodySchema.parse(body)),
    "devices.adopt": (body, ctx) => {
      const { mac } = ZDevicesAdoptBodySchema.parse(body);
      const s = need();
      const d = s.ctx.inventory.devices.get(mac);
      const base = {
        commandId: crypto.randomUUID(),
        mac,
        command: "adopt" as const,
        accountId: ctx.grant.accountId,
        at: ctx.now(),
      };
      let record: TDeviceCommandRecord;
      if (d === undefined)
        record = {
          ...base,
          status: "failed",
          error: { code: "not_found", message: "No device with this MAC on this site." },
        };
      else if (d.adopted) record = { ...base, status: "done" };
      else if (d.dialect !== "unifi")
        record = {
          ...base,
          status: "failed",
          error: { code: "unsupported", message: "Veil devices are adopted with the site key." },
        };
      else {
        // The inform way, on the operator's word; keys handed over HTTPS stay valid beside it.
        if (d.pendingAuthkey === undefined) s.ingest.beginAdoption(d);
        record = { ...base, status: "queued" };
      }
      s.ctx.inventory.saveCommand(record);
      return record;
    },
    "devices.reboot": (body, ctx) => command(ZDevicesRebootBodySchema.parse(body).mac, { command: "reboot" }, ctx),
    "devices.locate": (body, ctx) => {
      const b = ZDevicesLocateBodySchema.parse(body);
      return command(b.mac, { command: "locate", enabled: b.enabled }, ctx);
    },
    "devices.rename": (body, ctx) => {
      const b = ZDevicesRenameBodySchema.parse(body);
      return command(b.mac, { command: "rename", name: b.name }, ctx);
    },
    "devices.setInterval": (body, ctx) => {
      const b = ZDevicesSetIntervalBodySchema.parse(body);
      return command(b.mac, { command: "setInterval", seconds: b.seconds }, ctx);
    },
    "siteKey.get": () => {
      const s = need();
      return siteKeyResult(s, s.siteKey());
    },
    "siteKey.roll": (body) => {
      const s = need();
      const { graceMinutes } = ZSiteKeyRollBodySchema.parse(body);
      return siteKeyResult(s, s.rollSiteKey(graceMinutes * 60_000));
    },
  };
}
