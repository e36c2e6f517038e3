/** Reads devices-status.json (written by the device sweep) for `veil-companion status`. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { checkSecretFile } from "../state/check-permissions";

const ZDevicesStatusSchema = z.object({
  version: z.literal(1),
  updatedAt: z.number().int(),
  informPort: z.number().int(),
  channelPort: z.number().int(),
  counters: z.record(z.string().max(64), z.number().int().min(0)),
});
/** The device side's last published status. */
export type DevicesStatus = z.infer<typeof ZDevicesStatusSchema>;

/** The parsed file, or undefined when absent or unreadable. */
export function readDevicesStatus(stateDir: string): DevicesStatus | undefined {
  const path = join(stateDir, "devices-status.json");
  try {
    if (!checkSecretFile(path)) return undefined;
    const parsed = ZDevicesStatusSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
