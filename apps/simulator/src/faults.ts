/** Occasional simulated faults: a device drops off the network for a while, or reboots. */
import type { SimContext } from "./context";
import type { SimDevice } from "./device";

/**
 * With probability `ctx.faultRate` (drawn from the device's own seeded stream) puts the device
 * offline for 3–6 intervals (an outage) or reboots it. Returns true when a fault began.
 */
export function injectFault(ctx: SimContext, device: SimDevice, now: number, intervalMs: number): boolean {
  if (ctx.faultRate <= 0 || !device.prng.chance(ctx.faultRate)) return false;
  ctx.stats.faults++;
  if (device.prng.chance(0.5)) {
    device.offlineUntil = now + device.prng.int(3, 6) * intervalMs;
  } else {
    ctx.stats.reboots++;
    device.reboot(now, ctx.rebootMs * ctx.scale);
  }
  return true;
}
