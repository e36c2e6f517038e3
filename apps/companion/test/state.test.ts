import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkStateDir, StatePermissionError } from "../src/state/check-permissions";
import { StateStore } from "../src/state/state-store";
import { writeSecretFile } from "../src/state/write-secret-file";
import { readEnv } from "../src/env";
import { tempStateDir } from "./harness/companion";

describe("state folder and secret files", () => {
  let t = tempStateDir();
  afterEach(() => {
    t.cleanup();
    t = tempStateDir();
  });

  it("creates the folder 0700 and writes secret files 0600 atomically (no temp file left)", () => {
    checkStateDir(t.dir, { create: true });
    expect(statSync(t.dir).mode & 0o777).toBe(0o700);
    writeSecretFile(join(t.dir, "secrets.json"), "{}");
    writeSecretFile(join(t.dir, "secrets.json"), '{"a":1}');
    expect(statSync(join(t.dir, "secrets.json")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(t.dir, "secrets.json"), "utf8")).toBe('{"a":1}');
    expect(readdirSync(t.dir)).toEqual(["secrets.json"]);
  });

  it("refuses a folder readable by others, naming the exact chmod", () => {
    mkdirSync(t.dir, { mode: 0o755 });
    chmodSync(t.dir, 0o755);
    expect(() => checkStateDir(t.dir)).toThrow(StatePermissionError);
    expect(() => checkStateDir(t.dir)).toThrow(`chmod 700 '${t.dir}'`);
  });

  it("refuses a secret file readable by the group, naming the exact chmod", () => {
    checkStateDir(t.dir, { create: true });
    const file = join(t.dir, "secrets.json");
    writeFileSync(file, "{}", { mode: 0o640 });
    chmodSync(file, 0o640);
    expect(() => new StateStore(t.dir).loadSecrets()).toThrow(`chmod 600 '${file}'`);
  });

  it("refuses a symlinked secret file and a symlinked folder", () => {
    checkStateDir(t.dir, { create: true });
    writeFileSync(join(t.dir, "..", "elsewhere"), "{}", { mode: 0o600 });
    symlinkSync(join(t.dir, "..", "elsewhere"), join(t.dir, "config.json"));
    expect(() => new StateStore(t.dir).loadConfig()).toThrow(/regular file/);
    const link = join(t.dir, "..", "link");
    symlinkSync(t.dir, link);
    expect(() => checkStateDir(link)).toThrow(/directory/);
  });

  it("refuses a missing folder with a hint, and a corrupt file with a hint", () => {
    expect(() => checkStateDir(t.dir)).toThrow(/Enroll first/);
    checkStateDir(t.dir, { create: true });
    writeSecretFile(join(t.dir, "config.json"), "not json");
    expect(() => new StateStore(t.dir).loadConfig()).toThrow(/re-enroll/);
  });

  it("uninstall erases everything", () => {
    checkStateDir(t.dir, { create: true });
    writeSecretFile(join(t.dir, "secrets.json"), "secret");
    new StateStore(t.dir).remove();
    expect(() => statSync(t.dir)).toThrow();
  });

  it("env: validates, defaults, and strips VEIL_ENROLL from the process environment", () => {
    process.env.VEIL_ENROLL = "veil1_x";
    const env = readEnv(process.env);
    expect(env.VEIL_ENROLL).toBe("veil1_x");
    expect(process.env.VEIL_ENROLL).toBeUndefined();
    expect(readEnv({}).VEIL_STATE_DIR).toBe("/var/lib/veil-companion");
    expect(() => readEnv({ VEIL_LOG_LEVEL: "loud" })).toThrow(/VEIL_LOG_LEVEL/);
  });
});
