import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkStateDir, ownerMismatchMessage, StatePermissionError } from "../src/state/check-permissions";
import { StateFileCorruptError, StateStore } from "../src/state/state-store";
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
    // Advice an operator can follow: enroll refuses while config.json exists.
    expect(() => new StateStore(t.dir).loadConfig()).toThrow(
      /config\.json is not valid JSON: restore it from a backup, or erase this enrollment \(veil-companion uninstall --yes\) and enroll again/,
    );
    expect(() => new StateStore(t.dir).loadConfig()).toThrow(StateFileCorruptError);
  });

  it("uninstall erases everything", () => {
    checkStateDir(t.dir, { create: true });
    writeSecretFile(join(t.dir, "secrets.json"), "secret");
    new StateStore(t.dir).remove();
    expect(() => statSync(t.dir)).toThrow();
  });

  it("a planted symlink is refused by the check whatever its name, and erasing removes it without writing through it", () => {
    checkStateDir(t.dir, { create: true });
    const outside = join(t.dir, "..", "outside");
    writeFileSync(outside, "keep me", { mode: 0o600 });
    const store = new StateStore(t.dir);
    writeSecretFile(store.paths.secrets, "secret");
    symlinkSync(outside, join(t.dir, "x.tmp"));
    expect(() => store.check()).toThrow(/x\.tmp must be a regular file/);
    // A pending rotation that is a symlink: forgetting it removes the link only.
    symlinkSync(outside, store.paths.rotation);
    store.clearPendingRotation();
    expect(lstatSync(store.paths.rotation, { throwIfNoEntry: false })).toBeUndefined();
    // A hard link to a file elsewhere is removed, not zeroed (the other name keeps its content).
    const linked = join(t.dir, "..", "linked");
    writeFileSync(linked, "keep me too", { mode: 0o600 });
    linkSync(linked, join(t.dir, "revocations.json"));
    expect(store.remove()).toBe("removed");
    expect(readFileSync(outside, "utf8")).toBe("keep me");
    expect(readFileSync(linked, "utf8")).toBe("keep me too");
    expect(() => statSync(t.dir)).toThrow();
  });

  it("a regular temporary file of ours passes the check; a loose one does not", () => {
    checkStateDir(t.dir, { create: true });
    const store = new StateStore(t.dir);
    writeFileSync(join(t.dir, "run.lock.1.abcdef.tmp"), "{}", { mode: 0o600 });
    expect(() => store.check()).not.toThrow();
    writeFileSync(join(t.dir, ".secrets.json.abcdef.tmp"), "{}", { mode: 0o644 });
    chmodSync(join(t.dir, ".secrets.json.abcdef.tmp"), 0o644);
    expect(() => store.check()).toThrow(/chmod 600/);
  });

  it("a folder owned by another user of this host: run the command as that user, never take the folder from it", () => {
    const names = (uid: number): string | undefined => (uid === 998 ? "veil-companion" : undefined);
    const other = ownerMismatchMessage("/var/lib/veil-companion", 998, 1000, names);
    expect(other).toMatch(/owned by the user veil-companion \(uid 998\), not by you \(uid 1000\)/);
    expect(other).toMatch(/sudo veil-companion …/);
    expect(other).not.toMatch(/chown/);
    // An owner that is no user here (files restored from another host): taking them is the fix.
    expect(ownerMismatchMessage("/srv/state", 4242, 1000, names)).toMatch(/chown 1000 '\/srv\/state'/);
  });

  it.runIf(process.getuid?.() === 0)("names the owning user from /etc/passwd (a real folder of nobody's)", () => {
    checkStateDir(t.dir, { create: true });
    chownSync(t.dir, 65534, 65534);
    expect(() => checkStateDir(t.dir)).toThrow(/owned by the user nobody \(uid 65534\), not by you \(uid 0\)/);
    expect(() => checkStateDir(t.dir)).not.toThrow(/chown/);
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
