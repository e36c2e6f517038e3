/** The device channel's key lookups from the inventory (veil-channel-server.ts). */
import type { ChannelKeyStore } from "@veil/devices";
import type { DeviceContext } from "./device-context";

/** A key id as the inventory stores it. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Key lookups from the inventory: current (and grace-period) site keys, issued device keys. */
export function channelKeys(ctx: DeviceContext): ChannelKeyStore {
  return {
    siteKey: (keyId) => {
      const id = hex(keyId);
      const s = ctx.inventory.siteKeys.find(
        (k) => k.id === id && (k.graceUntil === undefined || k.graceUntil > ctx.now()),
      );
      return s ? new Uint8Array(Buffer.from(s.k, "base64url")) : undefined;
    },
    deviceKey: (mac, keyId) => {
      const d = ctx.inventory.devices.get(mac);
      return d?.veilKey && d.veilKey.id === hex(keyId)
        ? new Uint8Array(Buffer.from(d.veilKey.k, "base64url"))
        : undefined;
    },
  };
}
