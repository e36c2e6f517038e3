// `veil-companion uninstall` erases only a folder nothing else is using.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { uninstallCommand } from "../src/cli/uninstall-command";
import { acquireRotationLock } from "../src/rotate/rotation-lock";

describe("uninstall", () => {
  it("waits for a token rotation (which holds only the rotation lock) instead of erasing under it", () => {
    const parent = mkdtempSync(join(tmpdir(), "veil-uninstall-"));
    const dir = join(parent, "state");
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, "secrets.json"), "{}", { mode: 0o600 });
    try {
      const rotation = acquireRotationLock(dir);
      expect(rotation).toBeDefined();
      expect(() => uninstallCommand(dir)).toThrow(/a token rotation is running/);
      expect(existsSync(join(dir, "secrets.json"))).toBe(true);
      rotation?.release();
      expect(uninstallCommand(dir)).toEqual({ removed: true, folder: "removed" });
      expect(existsSync(dir)).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
