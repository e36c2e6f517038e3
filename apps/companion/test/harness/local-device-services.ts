import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDeviceService, type DeviceService, type DeviceServiceOptions } from "../../src/devices/device-service";
import { silentLogger } from "../../src/log";

/**
 * Device services for tests: each on 127.0.0.1 with any free ports, in a temporary state folder
 * of its own; `stopAll` closes every one started and removes its folder.
 */
export class LocalDeviceServices {
  readonly #running: { readonly service: DeviceService; readonly dir: string }[] = [];

  async start(extra: Partial<DeviceServiceOptions> = {}): Promise<DeviceService> {
    const dir = mkdtempSync(join(tmpdir(), "veil-devices-"));
    try {
      const service = await startDeviceService({
        stateDir: dir,
        logger: silentLogger,
        bindHost: "127.0.0.1",
        informPort: 0,
        channelPort: 0,
        ...extra,
      });
      this.#running.push({ service, dir });
      return service;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  async stopAll(): Promise<void> {
    for (const { service, dir } of this.#running.splice(0)) {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
