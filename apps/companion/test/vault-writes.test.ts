// Failed vault writes (a full disk) while other changes wait behind them. What the vault answers
// must be what it holds: a change answered "done" is in memory and on disk, a change answered
// with an error is in neither, whatever else was queued, and nobody reads a change before its
// write commits. Each case ends with one successful write, then compares memory with the disk.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { systemClock } from "../src/clock";
import { silentLogger } from "../src/log";
import { generateBoxKeyPair, toBase64Url } from "../src/crypto";
import { VaultService, type NewEntry } from "../src/vault/vault-service";
import { VaultStore } from "../src/vault/vault-store";

const MAC = "02:00:00:00:00:01";
const CERT = "a".repeat(64);

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * vault.json writes that fail on demand, as on a full disk. A failing write starts (the vault
 * is waiting on it) and ends only when the test says, so changes can be queued behind it.
 */
function fullDisk() {
  // Every other write goes through to the real file.
  const save = vi.spyOn(VaultStore.prototype, "save");
  let started = 0;
  const held: (() => void)[] = [];
  const failing = (): Promise<void> => {
    started++;
    return new Promise<void>((_, reject) =>
      held.push(() => reject(Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }))),
    );
  };
  return {
    /** The next `n` writes fail. */
    failNext: (n: number) => {
      for (let i = 0; i < n; i++) save.mockImplementationOnce(failing);
    },
    /** Resolves once `n` failing writes have started in all. */
    started: (n: number) => vi.waitFor(() => expect(started).toBeGreaterThanOrEqual(n)),
    /** Ends the oldest failing write still running. */
    failOne: () => held.shift()?.(),
  };
}

async function freshVault(): Promise<{ v: VaultService; dir: string; key: ReturnType<typeof generateBoxKeyPair> }> {
  const dir = mkdtempSync(join(tmpdir(), "veil-vaultwrites-"));
  dirs.push(dir);
  const key = generateBoxKeyPair();
  const v = new VaultService({ stateDir: dir, instanceId: "inst", clock: systemClock, logger: silentLogger });
  await v.init(toBase64Url(key.publicKey), false);
  return { v, dir, key };
}

const entry = (label: string, extra: Partial<NewEntry> = {}): NewEntry => ({
  target: { mac: MAC },
  label,
  secret: { kind: "password", username: "admin", password: `pass-${label}` },
  origin: "manual",
  ...extra,
});

/** Each entry as "label:state", in memory and on disk (a new process reading the folder). */
function held(v: VaultService, dir: string): { memory: string[]; disk: string[] } {
  const memory = v.list({ offset: 0, limit: 200 }).entries.map((m) => `${m.label}:${m.state}`);
  const disk = (new VaultStore(dir).load()?.entries ?? []).map((e) => `${e.meta.label}:${e.meta.state}`);
  return { memory, disk };
}

/** How a change was answered. */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "done",
    (e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`,
  );

describe("vault writes: what is answered done is what memory and disk hold", () => {
  it("a put whose write fails is never read, so a delete queued behind it cannot bring it back", async () => {
    const disk = fullDisk();
    const { v, dir } = await freshVault();
    await v.putMany([entry("P")]);

    disk.failNext(2);
    const put = outcome(v.putMany([entry("E")]));
    await disk.started(1);
    // A reader (vault.list) while E's write runs, and a delete of everything it saw, queued
    // behind that write: it fails too.
    const seen = v.list({ offset: 0, limit: 200 }).entries;
    const del = outcome(v.deleteMany(new Set(seen.map((m) => m.id))));
    disk.failOne();
    await disk.started(2);
    disk.failOne();
    expect(await put).toBe("failed: ENOSPC: no space left on device");
    expect(await del).toBe("failed: ENOSPC: no space left on device");

    // The next write succeeds: it carries no failed change.
    expect(await outcome(v.putMany([entry("later")]))).toBe("done");
    expect(held(v, dir)).toEqual({ memory: ["P:active", "later:active"], disk: ["P:active", "later:active"] });
    expect(seen.map((m) => m.label)).toEqual(["P"]);
  });

  it("a failed state change does not undo the change queued behind it", async () => {
    const disk = fullDisk();
    const { v, dir } = await freshVault();
    const [x] = (await v.putMany([entry("X", { state: "pending", origin: "generated", certSha256: CERT })])) ?? [];
    if (x === undefined) throw new Error("not stored");

    disk.failNext(1);
    const toActive = outcome(v.setStates(new Map([[x.id, "active"]])));
    await disk.started(1);
    const readWhileWriting = v.meta(x.id)?.state;
    const toSuperseded = outcome(v.setStates(new Map([[x.id, "superseded"]])));
    disk.failOne();
    expect(await toActive).toBe("failed: ENOSPC: no space left on device");
    expect(await toSuperseded).toBe("done");
    expect(held(v, dir)).toEqual({ memory: ["X:superseded"], disk: ["X:superseded"] });
    expect(readWhileWriting).toBe("pending"); // not written yet, so not read either
  });

  it("a generated entry queued behind a failed vault replacement is stored in the vault that stays, and opens", async () => {
    const disk = fullDisk();
    const { v, dir, key } = await freshVault();
    await v.putMany([entry("old")]);
    expect(v.unlock(toBase64Url(key.privateKey), 5).status).toBe("unlocked");

    disk.failNext(1);
    const replaced = outcome(v.init(toBase64Url(generateBoxKeyPair().publicKey), true));
    await disk.started(1);
    // Generation's write-ahead: the password it answers "stored" for goes to the device next.
    const password = "Generated-Device-Pass-1";
    const stored = v.putMany([
      entry("G", {
        secret: { kind: "password", username: "admin", password },
        state: "pending",
        origin: "generated",
        certSha256: CERT,
      }),
    ]);
    disk.failOne();
    expect(await replaced).toBe("failed: ENOSPC: no space left on device");
    const [g] = (await stored) ?? [];
    if (g === undefined) throw new Error("not stored");

    expect(held(v, dir)).toEqual({ memory: ["old:active", "G:pending"], disk: ["old:active", "G:pending"] });
    // Sealed to the key of the vault that stayed, which is still unlocked.
    expect(v.open(g.id)).toMatchObject({ status: "ok", secret: { password } });

    // A replacement that is written locks the vault at once and leaves no entry.
    expect((await v.init(toBase64Url(generateBoxKeyPair().publicKey), true)).status).toBe("initialized");
    expect(v.unlocked).toBe(false);
    expect(held(v, dir)).toEqual({ memory: [], disk: [] });
  });
});
