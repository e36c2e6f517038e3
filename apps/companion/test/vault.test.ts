import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { systemClock, type Clock } from "../src/clock";
import { silentLogger } from "../src/log";
import { fromBase64Url, generateBoxKeyPair, toBase64Url } from "../src/crypto";
import { openSiteServices } from "../src/discovery/site-requests";
import { VaultService } from "../src/vault/vault-service";
import { VAULT_FILE } from "../src/vault/vault-store";
import { generateCredentials, generatePassword } from "../src/vault/generate-credentials";
import { hasSeveralAccounts } from "../src/adoption/device-admin-client";
import { ZVaultGenerateBodySchema, type TDeviceJobProgress } from "../src/protocol";
import { dispatchContext, dispatchOne, testRequest } from "./harness/dispatch";
import { manualClock } from "./harness/manual-clock";

const secret = { kind: "password" as const, username: "admin", password: "Very-Secret-Device-Pass-1" };

describe("vault lifecycle", () => {
  const instanceId = randomUUID();
  let dir: string;
  const key = generateBoxKeyPair();
  const open = (clock: Clock = systemClock): VaultService =>
    new VaultService({ stateDir: dir, instanceId, clock, logger: silentLogger });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "veil-vault-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes while locked, refuses reads while locked, opens after unlock, and is locked after a restart", async () => {
    const v = open();
    expect(
      await v.putMany([{ target: { mac: "02:00:00:00:00:01" }, label: "x", secret, origin: "manual" }]),
    ).toBeUndefined(); // not initialized
    expect((await v.init(toBase64Url(key.publicKey), false)).status).toBe("initialized");
    expect((await v.init(toBase64Url(generateBoxKeyPair().publicKey), false)).status).toBe("exists");
    const [meta] =
      (await v.putMany([
        { target: { mac: "02:00:00:00:00:01" }, label: "ap-1", secret, notes: "rack 3", origin: "manual" },
      ])) ?? [];
    if (meta === undefined) throw new Error("not stored");
    expect(v.status()).toMatchObject({ initialized: true, unlocked: false, entries: 1 });
    expect(v.list({ offset: 0, limit: 10 }).entries).toEqual([meta]);
    expect(v.open(meta.id)).toEqual({ status: "locked" });

    const file = readFileSync(join(dir, VAULT_FILE), "utf8");
    expect(file).not.toContain(secret.password);
    expect(file).not.toContain("rack 3");
    expect(file).not.toContain(toBase64Url(key.privateKey));
    expect(statSync(join(dir, VAULT_FILE)).mode & 0o777).toBe(0o600);

    expect(v.unlock(toBase64Url(generateBoxKeyPair().privateKey), 15).status).toBe("wrong_key");
    expect(v.open(meta.id).status).toBe("locked");
    expect(v.unlock(toBase64Url(key.privateKey), 15).status).toBe("unlocked");
    expect(v.open(meta.id)).toEqual({ status: "ok", meta, secret, notes: "rack 3" });

    // Restart: a new process (service) over the same folder starts locked.
    const restarted = open();
    expect(restarted.status()).toMatchObject({ initialized: true, unlocked: false, entries: 1 });
    expect(restarted.open(meta.id).status).toBe("locked");
    v.lock();
    expect(v.open(meta.id).status).toBe("locked");
  });

  it("locks itself after the idle time, and use extends it", () => {
    const clock = manualClock(1_700_000_000_000);
    const v = open(clock);
    expect(v.unlock(toBase64Url(key.privateKey), 2).status).toBe("unlocked");
    const id = v.list({ offset: 0, limit: 1 }).entries[0]?.id ?? "";
    clock.advance(90_000);
    expect(v.open(id).status).toBe("ok"); // touch: 2 more minutes
    clock.advance(90_000);
    expect(v.unlocked).toBe(true);
    clock.advance(31_000);
    expect(v.unlocked).toBe(false);
    expect(v.open(id).status).toBe("locked");
  });

  it("a tampered sealed entry or tampered metadata does not open", async () => {
    const v = open();
    const [meta] =
      (await v.putMany([
        { target: { mac: "02:00:00:00:00:02" }, label: "t", secret, certSha256: "a".repeat(64), origin: "manual" },
      ])) ?? [];
    if (meta === undefined) throw new Error("not stored");
    const path = join(dir, VAULT_FILE);
    const original = readFileSync(path, "utf8");
    const json = JSON.parse(original) as {
      entries: { meta: { id: string; target: unknown; certSha256?: string }; sealed: string }[];
    };
    const entry = json.entries.find((e) => e.meta.id === meta.id);
    if (entry === undefined) throw new Error("missing");

    const bytes = fromBase64Url(entry.sealed);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 1;
    entry.sealed = toBase64Url(bytes);
    writeFileSync(path, JSON.stringify(json), { mode: 0o600 });
    let t = open();
    t.unlock(toBase64Url(key.privateKey), 5);
    expect(t.open(meta.id).status).toBe("corrupt");

    // Pointing the entry at another device's certificate (metadata edit) breaks it too.
    const again = JSON.parse(original) as typeof json;
    const e2 = again.entries.find((e) => e.meta.id === meta.id);
    if (e2 === undefined) throw new Error("missing");
    e2.meta.certSha256 = "b".repeat(64);
    writeFileSync(path, JSON.stringify(again), { mode: 0o600 });
    t = open();
    t.unlock(toBase64Url(key.privateKey), 5);
    expect(t.open(meta.id).status).toBe("corrupt");
    writeFileSync(path, original, { mode: 0o600 });
    t = open();
    t.unlock(toBase64Url(key.privateKey), 5);
    expect(t.open(meta.id).status).toBe("ok");
  });

  it("generates strong unique passwords and recognises several accounts", () => {
    const set = new Set(Array.from({ length: 1000 }, () => generatePassword(24)));
    expect(set.size).toBe(1000);
    for (const p of set) expect(p).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(hasSeveralAccounts({ accounts: ["admin", "support"] })).toBe(true);
    expect(hasSeveralAccounts({ mac: "x" })).toBe(false);
  });
});

describe("bulk credential generation", () => {
  let sim: SimulatorHandle;
  let dir: string;

  beforeAll(async () => {
    sim = await startSimulator({
      devices: 500,
      seed: 21,
      firstAddress: "127.0.8.2",
      discovery: "off",
      adminPort: 0,
      faultRate: 0,
    });
    dir = mkdtempSync(join(tmpdir(), "veil-vaultgen-"));
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("500 devices: unique credential per device, applied over pinned HTTPS, sealed while locked", async () => {
    const key = generateBoxKeyPair();
    const site = openSiteServices({
      stateDir: dir,
      instanceId: randomUUID(),
      clock: systemClock,
      logger: silentLogger,
      scanRanges: "127.0.8.0/23",
      concurrency: 32,
    });
    await site.vault.init(toBase64Url(key.publicKey), false);
    expect(site.vault.unlocked).toBe(false);
    const body = ZVaultGenerateBodySchema.parse({
      devices: sim.devices.map((d) => ({ mac: d.mac, ip: d.ip, port: sim.adminPort })),
      login: { username: "ubnt", password: "ubnt" },
    });
    const progress: TDeviceJobProgress[] = [];
    // (How fast: bench/vault-generate.ts; tests do not time.)
    await generateCredentials(body, site, (p) => progress.push(p));
    expect(progress.filter((p) => p.status === "done")).toHaveLength(500);

    const file = readFileSync(join(dir, VAULT_FILE), "utf8");
    for (const d of sim.devices.slice(0, 50)) expect(file).not.toContain(d.credentials.password);

    // Unlock and check: each device holds exactly the password sealed for it, all distinct.
    expect(site.vault.unlock(toBase64Url(key.privateKey), 5).status).toBe("unlocked");
    const seen = new Set<string>();
    for (const d of sim.devices) {
      const meta = site.vault.activeFor(d.mac);
      expect(meta).toMatchObject({
        origin: "generated",
        state: "active",
        certSha256: await sim.certificateFingerprint(d.mac),
      });
      const opened = site.vault.open(meta?.id ?? "");
      if (opened.status !== "ok" || opened.secret.kind !== "password")
        throw new Error(`entry of ${d.mac} does not open`);
      expect(opened.secret).toEqual({ kind: "password", username: "ubnt", password: d.credentials.password });
      seen.add(opened.secret.password);
    }
    expect(seen.size).toBe(500);

    // A second round from the vault itself (no typed login): needs the unlocked vault, supersedes the old entries.
    const few = ZVaultGenerateBodySchema.parse({
      devices: sim.devices.slice(0, 3).map((d) => ({ mac: d.mac, ip: d.ip, port: sim.adminPort })),
    });
    const second: TDeviceJobProgress[] = [];
    await generateCredentials(few, site, (p) => second.push(p));
    expect(second.map((p) => p.status)).toEqual(["done", "done", "done"]);
    expect(site.vault.list({ mac: sim.devices[0]?.mac, offset: 0, limit: 10 }).entries.map((e) => e.state)).toEqual([
      "superseded",
      "active",
    ]);

    // Locked: the vault cannot log in with a stored credential.
    site.vault.lock();
    const locked: TDeviceJobProgress[] = [];
    await generateCredentials(few, site, (p) => locked.push(p));
    expect(locked.map((p) => p.error)).toEqual(["vault_locked", "vault_locked", "vault_locked"]);

    // A changed certificate: the stored credential is never sent.
    const d0 = sim.devices[0];
    if (d0 === undefined) throw new Error("no device");
    await sim.rotateCertificate(d0.mac);
    site.vault.unlock(toBase64Url(key.privateKey), 5);
    const before = sim.stats().adminRequests;
    const changed: TDeviceJobProgress[] = [];
    await generateCredentials(
      ZVaultGenerateBodySchema.parse({ devices: [{ mac: d0.mac, ip: d0.ip, port: sim.adminPort }] }),
      site,
      (p) => changed.push(p),
    );
    expect(changed[0]).toMatchObject({ status: "failed", error: "certificate_changed" });
    expect(sim.stats().adminRequests).toBe(before);
  });
});

describe("vault requests through the dispatcher", () => {
  it("enforce roles from the grant and answer with catalogue-valid results", async () => {
    const { ReplayCache } = await import("../src/e2e/replay-cache");
    const { createRequestHandlers } = await import("../src/e2e/requests/create-handlers");
    const dir = mkdtempSync(join(tmpdir(), "veil-vaultreq-"));
    try {
      const site = openSiteServices({
        stateDir: dir,
        instanceId: randomUUID(),
        clock: systemClock,
        logger: silentLogger,
        scanRanges: "10.0.0.0/24",
      });
      const handlers = createRequestHandlers({ rotateToken: () => Promise.resolve("x"), site: () => site });
      const key = generateBoxKeyPair();
      const cache = new ReplayCache();
      const call = (role: string, type: string, body: unknown) =>
        dispatchOne(testRequest(type, randomUUID(), body), dispatchContext({ cache, handlers, role }));
      expect(await call("operator", "vault.init", { publicKey: toBase64Url(key.publicKey) })).toMatchObject({
        kind: "error",
        error: { code: "forbidden" },
      });
      expect(await call("admin", "vault.init", { publicKey: toBase64Url(key.publicKey) })).toMatchObject({
        kind: "result",
        body: { status: "initialized" },
      });
      const put = await call("operator", "vault.put", { target: { group: "core switches" }, secret, notes: "n" });
      expect(put).toMatchObject({
        kind: "result",
        body: { status: "stored", entry: { kind: "password", origin: "manual", state: "active" } },
      });
      const entryId = put.kind === "result" ? (put.body as { entry: { id: string } }).entry.id : "";
      expect(await call("operator", "vault.reveal", { entryId })).toMatchObject({
        kind: "result",
        body: { status: "locked" },
      });
      expect(await call("viewer", "vault.list", {})).toMatchObject({ kind: "error", error: { code: "forbidden" } });
      expect(await call("operator", "vault.list", {})).toMatchObject({ kind: "result", body: { total: 1 } });
      expect(
        await call("admin", "vault.unlock", { privateKey: toBase64Url(generateBoxKeyPair().privateKey) }),
      ).toMatchObject({ kind: "result", body: { status: "wrong_key" } });
      expect(await call("admin", "vault.unlock", { privateKey: toBase64Url(key.privateKey) })).toMatchObject({
        kind: "result",
        body: { status: "unlocked" },
      });
      expect(await call("operator", "vault.reveal", { entryId })).toMatchObject({
        kind: "result",
        body: { status: "ok", secret, notes: "n" },
      });
      expect(await call("operator", "vault.status", {})).toMatchObject({
        kind: "result",
        body: { initialized: true, unlocked: true, entries: 1 },
      });
      expect(await call("operator", "vault.lock", {})).toMatchObject({ kind: "result", body: { locked: true } });
      expect(await call("operator", "vault.reveal", { entryId })).toMatchObject({
        kind: "result",
        body: { status: "locked" },
      });
      expect(await call("operator", "discovery.start", { targets: ["127.0.0.1"] })).toMatchObject({
        kind: "result",
        body: { status: "refused", refused: [{ reason: "loopback" }] },
      });
      expect(await call("admin", "vault.delete", { entryId })).toMatchObject({
        kind: "result",
        body: { deleted: true },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
