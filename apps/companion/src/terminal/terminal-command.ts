import { randomUUID } from "node:crypto";
import type { LiveChannel } from "../devices/device-context";
import type { DeviceService } from "../devices/device-service";
import type { TDeviceCommandBody } from "../protocol";

/**
 * Sends one command down a device's live Veil channel and waits for its `command_result`
 * (through the device service's waiters, as run-device-command.ts does), or the service's
 * command timeout. Never rejects.
 */
export function sendTerminalCommand(
  service: DeviceService,
  channel: LiveChannel,
  command: TDeviceCommandBody,
): Promise<{ ok: boolean; code?: string }> {
  const waiters = service.ctx.commandWaiters;
  const id = randomUUID();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiters.delete(id);
      resolve({ ok: false, code: "timeout" });
    }, service.commandTimeoutMs);
    waiters.set(id, (r) => {
      clearTimeout(timer);
      waiters.delete(id);
      resolve(r);
    });
    if (!channel.send({ type: "command", id, command })) waiters.get(id)?.({ ok: false, code: "offline" });
  });
}
