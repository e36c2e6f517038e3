/**
 * Device commands from the browser (`devices.reboot|locate|rename|setInterval`), after the
 * dispatcher checked the signer's role. Each ends in a typed record — `done`, `queued` (UniFi:
 * waits for the device's next inform) or `failed` with a stable code — and every record is
 * stored (who, what, when, outcome).
 *
 * Veil channel: the command goes down the live session and the device's `command_result`
 * decides (timeout → failed/timeout). UniFi: reboot and locate ride the reply to the next
 * inform (`reboot`, `cmd set-locate|unset-locate`); rename is the companion-side name;
 * setInterval changes the `noop` interval. The command's name is kept, its arguments are not
 * logged.
 */
import { randomUUID } from "node:crypto";
import { cmdReply, rebootReply } from "@veil/devices";
import type { TDeviceCommandBody, TDeviceCommandRecord, TUnifiReply } from "../protocol";
import type { DeviceContext } from "./device-context";
import type { DeviceEntry } from "./inventory";

/** A command as the handlers pass it. */
export type DeviceCommand =
  | { command: "reboot" }
  | { command: "locate"; enabled: boolean }
  | { command: "rename"; name: string }
  | { command: "setInterval"; seconds: number };

type Failure = NonNullable<TDeviceCommandRecord["error"]>;

const MESSAGES: Record<Failure["code"], string> = {
  not_found: "No device with this MAC on this site.",
  pending_adoption: "The device is not adopted yet.",
  offline: "The device is offline.",
  unsupported: "The device does not support this command.",
  timeout: "The device did not answer in time.",
  device_error: "The device reported a failure.",
};

/** Runs one command and records it. Never throws for device-side problems. */
export async function runDeviceCommand(
  ctx: DeviceContext,
  mac: string,
  cmd: DeviceCommand,
  accountId: string,
  timeoutMs: number,
): Promise<TDeviceCommandRecord> {
  const record = (status: TDeviceCommandRecord["status"], code?: Failure["code"]): TDeviceCommandRecord => ({
    commandId,
    mac,
    command: cmd.command,
    status,
    ...(code !== undefined ? { error: { code, message: MESSAGES[code] } } : {}),
    accountId,
    at: ctx.now(),
  });
  const commandId = randomUUID();
  const d = ctx.inventory.devices.get(mac);
  let result: TDeviceCommandRecord;
  if (d === undefined) return record("failed", "not_found");
  if (!d.adopted) result = record("failed", "pending_adoption");
  else if (d.dialect === "veil") result = await runVeil(ctx, d, cmd, commandId, timeoutMs, record);
  else result = await runUnifi(ctx, d, cmd, commandId, timeoutMs, record);
  ctx.inventory.saveCommand(result);
  ctx.logger.info("device command", {
    mac,
    command: cmd.command,
    status: result.status,
    code: result.error?.code,
    accountId,
  });
  return result;
}

type MakeRecord = (status: TDeviceCommandRecord["status"], code?: Failure["code"]) => TDeviceCommandRecord;

function applyLocal(ctx: DeviceContext, d: DeviceEntry, cmd: DeviceCommand): void {
  if (cmd.command === "rename") d.alias = cmd.name;
  else if (cmd.command === "setInterval") d.intervalSec = cmd.seconds;
  else return;
  ctx.inventory.saveDevice(d);
}

async function runVeil(
  ctx: DeviceContext,
  d: DeviceEntry,
  cmd: DeviceCommand,
  id: string,
  timeoutMs: number,
  record: MakeRecord,
): Promise<TDeviceCommandRecord> {
  const live = ctx.channels.get(d.mac);
  if (live === undefined) {
    // Rename and interval are kept by the companion and take effect on the next session.
    if (cmd.command === "rename" || cmd.command === "setInterval") {
      applyLocal(ctx, d, cmd);
      return record("queued");
    }
    return record("failed", "offline");
  }
  const body: TDeviceCommandBody =
    cmd.command === "reboot"
      ? { name: "reboot" }
      : cmd.command === "locate"
        ? { name: "locate", enabled: cmd.enabled }
        : cmd.command === "rename"
          ? { name: "rename", hostname: cmd.name }
          : { name: "set-interval", seconds: cmd.seconds };
  const answer = new Promise<{ ok: boolean; code?: string }>((resolve) => {
    const t = setTimeout(() => {
      ctx.commandWaiters.delete(id);
      resolve({ ok: false, code: "timeout" });
    }, timeoutMs);
    ctx.commandWaiters.set(id, (r) => {
      clearTimeout(t);
      ctx.commandWaiters.delete(id);
      resolve(r);
    });
  });
  if (!live.send({ type: "command", id, command: body })) {
    ctx.commandWaiters.get(id)?.({ ok: false, code: "offline" });
  }
  const r = await answer;
  if (!r.ok) return record("failed", r.code === "timeout" || r.code === "offline" ? r.code : "device_error");
  applyLocal(ctx, d, cmd);
  return record("done");
}

async function runUnifi(
  ctx: DeviceContext,
  d: DeviceEntry,
  cmd: DeviceCommand,
  id: string,
  timeoutMs: number,
  record: MakeRecord,
): Promise<TDeviceCommandRecord> {
  if (cmd.command === "rename" || cmd.command === "setInterval") {
    applyLocal(ctx, d, cmd);
    return record("done");
  }
  if (d.status === "offline") return record("failed", "offline");
  const reply: TUnifiReply =
    cmd.command === "reboot"
      ? rebootReply(ctx.now)
      : cmdReply(id, cmd.enabled ? "set-locate" : "unset-locate", ctx.now);
  if ((ctx.unifiQueue.get(d.mac)?.length ?? 0) >= 8) return record("failed", "timeout");
  let settled = false;
  let queuedRecord: TDeviceCommandRecord | undefined;
  const delivered = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    const queue = ctx.unifiQueue.get(d.mac) ?? [];
    queue.push({
      reply,
      delivered: () => {
        clearTimeout(t);
        if (!settled) resolve(true);
        // Delivered after the request was answered `queued`: record the delivery.
        else if (queuedRecord) ctx.inventory.saveCommand({ ...queuedRecord, status: "done", at: ctx.now() });
      },
    });
    ctx.unifiQueue.set(d.mac, queue);
  });
  settled = true;
  const result = record(delivered ? "done" : "queued");
  if (!delivered) queuedRecord = result;
  return result;
}
