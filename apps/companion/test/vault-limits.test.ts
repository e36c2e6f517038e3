import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../src/clock";
import { createJsonLogger, silentLogger } from "../src/log";
import { generateBoxKeyPair, seal, toBase64Url, utf8 } from "../src/crypto";
import { openSiteServices, type SiteServices } from "../src/discovery/site-requests";
import { ReplayCache } from "../src/e2e/replay-cache";
import { createRequestHandlers } from "../src/e2e/requests/create-handlers";
import { StatePermissionError } from "../src/state/check-permissions";
import { VaultRefusedError } from "../src/vault/vault-refused";
import { entryAad, VaultService } from "../src/vault/vault-service";
import { MAX_SEALED_CHARS, MAX_SEALED_TOTAL_CHARS, MAX_VAULT_ENTRIES, VAULT_FILE } from "../src/vault/vault-store";
import { ZVaultPutBodySchema, type TVaultEntryMeta } from "../src/protocol";
import { dispatchContext, dispatchOne, testRequest } from "./harness/dispatch";

const MAC = "02:00:00:00:00:01";
const password = { kind: "password" as const, username: "admin", password: "Device-Pass-1" };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "veil-vaultlim-"));
  dirs.push(d);
  return d;
}

const open = (dir: string, instanceId = "inst"): SiteServices =>
  openSiteServices({ stateDir: dir, instanceId, clock: systemClock, logger: silentLogger, scanRanges: "10.0.0.0/24" });

/** Requests through the real dispatcher and handlers, as an operator or admin of one account. */
function caller(site: SiteServices) {
  const handlers = createRequestHandlers({ rotateToken: () => Promise.resolve("x"), site: () => site });
  const cache = new ReplayCache();
  return (role: string, type: string, body: unknown) =>
    dispatchOne(testRequest(type, randomUUID(), body), dispatchContext({ cache, handlers, role }));
}

/** A vault.json with `n` entries whose blobs are `sealedChars` long (never opened: only the limits matter). */
function writeVault(dir: string, n: number, sealedChars: number): string {
  const sealed = "A".repeat(sealedChars);
  const entries = Array.from({ length: n }, () => ({
    meta: {
      id: randomUUID(),
      target: { mac: MAC },
      kind: "password",
      label: "",
      createdAt: 1,
      state: "active",
      origin: "manual",
    },
    sealed,
  }));
  const path = join(dir, VAULT_FILE);
  const key = toBase64Url(generateBoxKeyPair().publicKey);
  writeFileSync(path, JSON.stringify({ version: 1, publicKey: key, createdAt: 1, entries }), { mode: 0o600 });
  return path;
}

describe("vault size limits: nothing the vault accepts can stop the next start", () => {
  it("refuses a put whose entry would seal past the file's limit; the vault still loads after a restart", async () => {
    const dir = tempDir();
    const site = open(dir);
    const call = caller(site);
    const key = toBase64Url(generateBoxKeyPair().publicKey);
    expect(await call("admin", "vault.init", { publicKey: key })).toMatchObject({ kind: "result" });
    const path = join(dir, VAULT_FILE);
    const before = readFileSync(path, "utf8");

    // 16,000 CJK characters: within the old character limit, 48,000 bytes of UTF-8.
    const big = { kind: "sshKey", username: "admin", privateKey: "\u4e00".repeat(16_000) };
    const put = await call("operator", "vault.put", { target: { mac: MAC }, label: "x", secret: big });
    expect(put).toMatchObject({ kind: "error", error: { code: "bad_request" } });
    expect(readFileSync(path, "utf8")).toBe(before);

    // Past the schema (a future field, a bug): the vault checks the sealed length itself.
    const v = site.vault;
    const huge = { kind: "sshKey" as const, username: "admin", privateKey: "k".repeat(60_000) };
    await expect(v.putMany([{ target: { mac: MAC }, label: "x", secret: huge, origin: "manual" }])).rejects.toEqual(
      new VaultRefusedError("too_large", "This entry is too large to store in the vault."),
    );
    // All or nothing: a fitting entry in the same call is not stored either.
    await expect(
      v.putMany([
        { target: { mac: MAC }, label: "ok", secret: password, origin: "manual" },
        { target: { mac: MAC }, label: "x", secret: huge, origin: "manual" },
      ]),
    ).rejects.toBeInstanceOf(VaultRefusedError);
    expect(v.list({ offset: 0, limit: 10 }).total).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(before);

    expect(() => open(dir)).not.toThrow();
    expect(open(dir).vault.status()).toMatchObject({ initialized: true, entries: 0 });
  });

  it("the largest entries the schema accepts (every character escaped in JSON) seal within the limit and load again", async () => {
    const dir = tempDir();
    const v = open(dir).vault;
    const pair = generateBoxKeyPair();
    await v.init(toBase64Url(pair.publicKey), false);
    const worst = [
      // Quotes in the key, control characters in the passphrase and quotes in the notes: each doubled or ×6 by JSON.
      {
        secret: {
          kind: "sshKey",
          username: "u".repeat(64),
          privateKey: '"'.repeat(16_384),
          passphrase: "\u0001".repeat(256),
        },
        notes: '"'.repeat(4096),
      },
      // Lone surrogates: 3 bytes of UTF-8 each, 6 in JSON.
      {
        secret: {
          kind: "sshKey",
          username: "u".repeat(64),
          privateKey: "\\".repeat(16_384),
          passphrase: "\ud800".repeat(256),
        },
        notes: "\udc00".repeat(1365),
      },
      {
        secret: { kind: "password", username: "u".repeat(64), password: "\u0002".repeat(128) },
        notes: "\n".repeat(4096),
      },
    ];
    for (const w of worst) {
      const body = ZVaultPutBodySchema.parse({ target: { mac: MAC }, ...w });
      const [meta] =
        (await v.putMany([
          { target: body.target, label: "", secret: body.secret, notes: body.notes, origin: "manual" },
        ])) ?? [];
      expect(meta).toBeDefined();
    }
    const file = JSON.parse(readFileSync(join(dir, VAULT_FILE), "utf8")) as { entries: { sealed: string }[] };
    for (const e of file.entries) expect(e.sealed.length).toBeLessThanOrEqual(MAX_SEALED_CHARS);
    const restarted = open(dir).vault;
    expect(restarted.status()).toMatchObject({ initialized: true, entries: 3 });
    restarted.unlock(toBase64Url(pair.privateKey), 5);
    for (const m of restarted.list({ offset: 0, limit: 10 }).entries) expect(restarted.open(m.id).status).toBe("ok");
  });

  it("the schema counts bytes, not characters, and keeps a key to the characters key files are made of", () => {
    const put = (secret: unknown, notes?: string) =>
      ZVaultPutBodySchema.safeParse({ target: { mac: MAC }, secret, ...(notes !== undefined ? { notes } : {}) })
        .success;
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\r\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    expect(put({ kind: "sshKey", username: "admin", privateKey: key })).toBe(true);
    expect(put({ kind: "sshKey", username: "admin", privateKey: "\u4e00" })).toBe(false);
    expect(put({ kind: "sshKey", username: "admin", privateKey: "a".repeat(16_385) })).toBe(false);
    expect(put(password, "é".repeat(2048))).toBe(true); // 4,096 bytes
    expect(put(password, "é".repeat(2049))).toBe(false); // 4,098 bytes
    expect(put(password, "rack 3\tshelf 2\r\nleft")).toBe(true);
    expect(put(password, "bell\u0007")).toBe(false);
  });

  it("entries earlier versions accepted (any key text) still open and reveal, though vault.put now refuses them", async () => {
    const dir = tempDir();
    const pair = generateBoxKeyPair();
    const instanceId = "inst";
    const keys = [
      "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: clé de José\nPublic-Lines: 1\nAAAA\n",
      "\uFEFF-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    ];
    // Sealed as the version before the byte bounds did: JSON{secret}, to the vault key, bound to its metadata.
    const entries = keys.map((privateKey) => {
      const meta: TVaultEntryMeta = {
        id: randomUUID(),
        target: { mac: MAC },
        kind: "sshKey",
        label: "old key",
        createdAt: 1,
        state: "active",
        origin: "manual",
      };
      const plain = utf8(JSON.stringify({ secret: { kind: "sshKey", username: "admin", privateKey } }));
      return {
        meta,
        sealed: toBase64Url(seal(plain, { recipients: [pair.publicKey], aad: entryAad(instanceId, meta) })),
      };
    });
    writeFileSync(
      join(dir, VAULT_FILE),
      JSON.stringify({ version: 1, publicKey: toBase64Url(pair.publicKey), createdAt: 1, entries }),
      { mode: 0o600 },
    );
    for (const privateKey of keys)
      expect(
        ZVaultPutBodySchema.safeParse({
          target: { mac: MAC },
          secret: { kind: "sshKey", username: "admin", privateKey },
        }).success,
      ).toBe(false);

    const site = open(dir, instanceId);
    const call = caller(site);
    expect(await call("admin", "vault.unlock", { privateKey: toBase64Url(pair.privateKey) })).toMatchObject({
      kind: "result",
      body: { status: "unlocked" },
    });
    for (const [i, { meta }] of entries.entries()) {
      const secret = { kind: "sshKey", username: "admin", privateKey: keys[i] };
      expect(site.vault.open(meta.id)).toMatchObject({ status: "ok", secret });
      expect(await call("operator", "vault.reveal", { entryId: meta.id })).toMatchObject({
        kind: "result",
        body: { status: "ok", entry: meta, secret },
      });
    }
  });

  it("refuses a put once the file holds its most entries, or its most sealed characters, and writes nothing", async () => {
    const dir = tempDir();
    const path = writeVault(dir, MAX_VAULT_ENTRIES, 8);
    const before = readFileSync(path, "utf8");
    const site = open(dir);
    const call = caller(site);
    const put = await call("operator", "vault.put", { target: { mac: MAC }, secret: password });
    expect(put).toMatchObject({
      kind: "error",
      error: { code: "unavailable", message: expect.stringMatching(/full/) as unknown },
    });
    expect(readFileSync(path, "utf8")).toBe(before);
    expect(site.vault.status().entries).toBe(MAX_VAULT_ENTRIES);

    const bytes = tempDir();
    const perEntry = MAX_SEALED_CHARS;
    const bytesPath = writeVault(bytes, Math.floor(MAX_SEALED_TOTAL_CHARS / perEntry), perEntry);
    const beforeBytes = readFileSync(bytesPath, "utf8");
    const v = open(bytes).vault;
    // About 44,000 sealed characters: the file would pass 64 MiB of them.
    await expect(
      v.putMany([
        {
          target: { mac: MAC },
          label: "",
          secret: { kind: "sshKey", username: "admin", privateKey: '"'.repeat(16_384) },
          origin: "manual",
        },
      ]),
    ).rejects.toMatchObject({ reason: "full" });
    expect(readFileSync(bytesPath, "utf8")).toBe(beforeBytes);
  });

  it("a vault.json that cannot be parsed does not stop the companion: vault requests answer `unavailable`, the file is kept", async () => {
    for (const damage of [
      (p: string) => writeVault(p, 1, MAX_SEALED_CHARS + 1), // what the unchecked put used to write
      (p: string) => writeFileSync(join(p, VAULT_FILE), '{"version":1,"entr', { mode: 0o600 }),
    ]) {
      const dir = tempDir();
      damage(dir);
      const path = join(dir, VAULT_FILE);
      const before = readFileSync(path);
      const lines: string[] = [];
      const site = openSiteServices({
        stateDir: dir,
        instanceId: "inst",
        clock: systemClock,
        logger: createJsonLogger({ level: "debug", write: (l) => lines.push(l) }),
        scanRanges: "10.0.0.0/24",
      });
      expect(site.vault.damaged).toBe(true);
      expect(lines.some((l) => l.includes("vault file damaged"))).toBe(true);
      const call = caller(site);
      const key = toBase64Url(generateBoxKeyPair().publicKey);
      for (const [role, type, body] of [
        ["operator", "vault.status", {}],
        ["operator", "vault.put", { target: { mac: MAC }, secret: password }],
        ["operator", "vault.list", {}],
        ["admin", "vault.init", { publicKey: key, replace: true }],
        ["admin", "vault.unlock", { privateKey: key }],
        [
          "admin",
          "vault.generate",
          { devices: [{ mac: MAC, ip: "10.0.0.5" }], login: { username: "a", password: "b" } },
        ],
      ] as const) {
        expect(await call(role, type, body), type).toMatchObject({
          kind: "error",
          error: { code: "unavailable", message: expect.stringMatching(/vault file .* is damaged/) as unknown },
        });
      }
      // The rest of the site services answer.
      expect(await call("operator", "discovery.start", { targets: ["127.0.0.1"] })).toMatchObject({
        kind: "result",
        body: { status: "refused" },
      });
      expect(readFileSync(path)).toEqual(before);
    }
  });

  it("a vault.json others may read still stops the start (a host problem, with the fix in the message)", () => {
    const dir = tempDir();
    const path = writeVault(dir, 1, 8);
    chmodSync(path, 0o644);
    expect(() => open(dir)).toThrow(StatePermissionError);
  });

  it("writes run off the event loop one at a time: concurrent puts all land, and a failed write never reaches memory", async () => {
    const dir = tempDir();
    const v = new VaultService({ stateDir: dir, instanceId: "inst", clock: systemClock, logger: silentLogger });
    await v.init(toBase64Url(generateBoxKeyPair().publicKey), false);
    const puts = Array.from({ length: 40 }, (_, i) =>
      v.putMany([{ target: { mac: MAC }, label: `e${i}`, secret: password, origin: "manual" }]),
    );
    const stored = (await Promise.all(puts)).flatMap((m) => m ?? []);
    expect(stored).toHaveLength(40);
    const again = new VaultService({ stateDir: dir, instanceId: "inst", clock: systemClock, logger: silentLogger });
    expect(again.list({ offset: 0, limit: 100 }).entries.map((e) => e.label)).toEqual(stored.map((m) => m.label));

    // The folder is gone: the write fails, and memory does not claim the entry.
    rmSync(dir, { recursive: true, force: true });
    await expect(
      v.putMany([{ target: { mac: MAC }, label: "lost", secret: password, origin: "manual" }]),
    ).rejects.toThrow();
    expect(v.list({ offset: 0, limit: 100 }).total).toBe(40);
  });
});
