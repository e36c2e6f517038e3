// Under the shipped unit's sandbox a host may refuse the netlink socket that listing interfaces
// needs. Node then throws (measured: `strace -e inject=socket:error=EAFNOSUPPORT node -e
// 'os.networkInterfaces()'` gives exactly the error below). The companion must still start, say
// what to configure, and treat nothing as in scope by default.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type * as nodeOs from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { scopeFromConfig, checkAddress } from "../src/discovery/scope";
import { startDeviceService } from "../src/devices/device-service";
import { decodeSiteKey } from "@veil/devices";
import { captureLogger } from "./harness/companion";

vi.mock("node:os", async (importOriginal) => {
  const os = await importOriginal<typeof nodeOs>();
  const refused = (): never => {
    throw Object.assign(new Error("A system error occurred: uv_interface_addresses returned Unknown system error 97"), {
      code: "ERR_SYSTEM_ERROR",
    });
  };
  return { ...os, default: { ...os, networkInterfaces: refused }, networkInterfaces: refused };
});

describe("a host that will not list its interfaces (no AF_NETLINK)", () => {
  it("is not what the shipped unit makes: it allows netlink", () => {
    const unit = readFileSync(join(import.meta.dirname, "../../../infra/veil-companion.service"), "utf8");
    expect(unit).toMatch(/^RestrictAddressFamilies=(?:.* )?AF_NETLINK(?: |$)/m);
  });

  it("gives discovery an empty default scope and says how to set one", () => {
    const { logger, lines } = captureLogger();
    const scope = scopeFromConfig(undefined, logger);
    expect(scope).toEqual({ allowed: [], explicit: false });
    expect(checkAddress(scope, "192.168.1.10")).toBeDefined();
    expect(lines.join("\n")).toMatch(/VEIL_SCAN_RANGES/);
    // A configured range does not need the interfaces at all.
    expect(scopeFromConfig("10.0.0.0/24", logger).allowed).toHaveLength(1);
  });

  it("starts the device service, with the public host to configure named in the log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "veil-noif-"));
    const { logger, lines } = captureLogger();
    const service = await startDeviceService({
      stateDir: dir,
      logger,
      bindHost: "0.0.0.0",
      informPort: 0,
      channelPort: 0,
    });
    try {
      expect(lines.join("\n")).toMatch(/VEIL_DEVICE_PUBLIC_HOST/);
      expect(decodeSiteKey(service.siteKey().text).url).toMatch(/^wss:\/\/127\.0\.0\.1:/);
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
