import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { checkSecretFile } from "../state/check-permissions";
import { writeSecretFile } from "../state/write-secret-file";

/** File of the device certificate pins in the state folder. */
export const PINS_FILE = "device-pins.json";

const ZPin = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  pinnedAt: z.number().int().min(0),
  adoptedAt: z.number().int().min(0).optional(),
});
const ZPinsFile = z.strictObject({
  version: z.literal(1),
  pins: z.record(z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/), ZPin),
});
export type DevicePin = z.infer<typeof ZPin>;

/**
 * Trust-on-first-use pins of device HTTPS certificates, per MAC: SHA-256 of the leaf DER, when
 * it was pinned, and when this companion adopted the device. 0600, atomic writes.
 */
export class PinStore {
  readonly path: string;
  #pins = new Map<string, DevicePin>();

  constructor(stateDir: string) {
    this.path = join(stateDir, PINS_FILE);
    if (checkSecretFile(this.path)) {
      const parsed = ZPinsFile.parse(JSON.parse(readFileSync(this.path, "utf8")));
      this.#pins = new Map(Object.entries(parsed.pins));
    }
  }

  get(mac: string): DevicePin | undefined {
    return this.#pins.get(mac);
  }

  /** Sets (or replaces) a pin; `flush` writes the file. */
  set(mac: string, pin: DevicePin): void {
    this.#pins.set(mac, pin);
  }

  flush(): void {
    writeSecretFile(this.path, JSON.stringify({ version: 1, pins: Object.fromEntries(this.#pins) }));
  }
}
