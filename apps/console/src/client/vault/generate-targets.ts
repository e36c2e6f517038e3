import type { ZDeviceTargetSchema } from "@veil/protocol";
import type { z } from "zod";
import type { FoundDevice } from "../discovery/use-discovery";

/** Port of the devices' HTTPS management API (the companion probes the same one). */
const DEVICE_HTTPS_PORT = 443;

/**
 * The devices of a `vault.generate` request, each with the certificate its HTTPS probe showed in
 * the scan the operator picked it from. On first contact the companion then logs in only to a
 * device presenting exactly that certificate, as adoption does; without it, a LAN host that took
 * the address and answers with the MAC would get the current login. A device seen only by UBDP
 * has no certificate, and goes without (trust on first use).
 */
export function generateTargets(devices: readonly FoundDevice[]): z.input<typeof ZDeviceTargetSchema>[] {
  return devices.map((d) => ({
    mac: d.mac,
    ip: d.ip,
    port: DEVICE_HTTPS_PORT,
    ...(typeof d.certSha256 === "string" ? { certSha256: d.certSha256 } : {}),
  }));
}
