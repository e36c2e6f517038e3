import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { systemClock } from "../src/clock";
import { generateBoxKeyPair, toBase64Url } from "../src/crypto";
import { AuditLog } from "../src/audit/audit-log";
import { sha256Hex } from "../src/audit/audit-files";
import { summarizeTarget } from "../src/audit/summarize-target";
import type { RunningCompanion } from "../src/run/start-companion";
import {
  verifyAuditChain,
  ZAuditReadResultSchema,
  type TAuditEntry,
  type TAuditReadResult,
  type TAuditRecord,
} from "../src/protocol";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, signGrant, type TestAccount, type TestInstance } from "./harness/fixtures";
import { BrowserSession, waitUntil } from "./harness/browser";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

const PASSWORD = "Audit-Adopt-Pass-91c2e7";
const VAULT_PASSWORD = "Vault-Entry-Pass-5d7a3f";
const USERNAME = "siteadmin";

const entry = (type: string, target: string | null = null): TAuditEntry => ({
  kind: "request",
  accountId: randomUUID(),
  signer: "a".repeat(64),
  role: "admin",
  type,
  target,
  result: "ok",
  code: null,
  durationMs: 1,
  metrics: null,
  detail: null,
});

/** Every record, oldest first, by paging `read` backwards as the browser does; checks each page link. */
function readAll(read: (before?: number) => TAuditReadResult): { records: TAuditRecord[]; breaks: number[] } {
  const pages: TAuditReadResult[] = [];
  let before: number | undefined;
  for (;;) {
    const page = ZAuditReadResultSchema.parse(read(before));
    pages.push(page);
    if (!page.more || page.records.length === 0) break;
    before = page.records[0]?.seq;
  }
  const records = pages.reverse().flatMap((p) => p.records);
  return { records, breaks: verifyAuditChain(records, sha256Hex).map((b) => b.seq) };
}

function auditFiles(stateDir: string): string[] {
  return readdirSync(stateDir)
    .filter((n) => n.startsWith("audit-") && n.endsWith(".jsonl"))
    .sort()
    .map((n) => join(stateDir, n));
}

describe("audit log file: chain, verification on start, rotation", () => {
  const fresh = () => {
    const state = tempStateDir();
    mkdirSync(state.dir, { mode: 0o700 });
    return state;
  };
  const open = (dir: string, extra: Partial<Parameters<typeof AuditLog.open>[0]> = {}) => {
    const { logger, lines } = captureLogger();
    return { log: AuditLog.open({ stateDir: dir, clock: systemClock, logger, ...extra }), lines };
  };

  it("chains records, survives a restart, and files are 0600", () => {
    const state = fresh();
    try {
      const { log } = open(state.dir);
      for (let i = 0; i < 10; i++) log.append(entry("ping"));
      log.close();
      const again = open(state.dir);
      expect(again.log.verification.problems).toEqual([]);
      const all = readAll((before) => again.log.read({ before, limit: 4 }));
      expect(all.breaks).toEqual([]);
      expect(all.records.map((r) => r.seq)).toEqual([...Array(12).keys()]);
      expect(all.records.at(-1)?.type).toBe("audit.start");
      again.log.close();
      for (const f of auditFiles(state.dir)) expect(statSync(f).mode & 0o777).toBe(0o600);
      expect(statSync(join(state.dir, "audit-head.json")).mode & 0o777).toBe(0o600);
    } finally {
      state.cleanup();
    }
  });

  it("detects a tampered middle record on start and in audit.read, once, without rewriting the file", () => {
    const state = fresh();
    try {
      const { log } = open(state.dir);
      for (let i = 0; i < 6; i++) log.append(entry("devices.reboot", `mac=02:00:00:00:00:0${i}`));
      log.close();
      const [file] = auditFiles(state.dir);
      if (file === undefined) throw new Error("no file");
      const tampered = readFileSync(file, "utf8").replace("02:00:00:00:00:03", "02:00:00:00:00:09");
      writeFileSync(file, tampered);
      const { log: reopened, lines } = open(state.dir);
      expect(reopened.verification.problems).toMatchObject([{ reason: "hash_mismatch", seq: 4, acknowledged: false }]);
      expect(lines.some((l) => l.includes("chain broken"))).toBe(true);
      expect(readFileSync(file, "utf8")).toBe(tampered); // never rewritten
      const all = readAll((before) => reopened.read({ before, limit: 3 }));
      expect(all.breaks).toEqual([4]);
      const anchor = all.records.at(-1);
      expect(anchor).toMatchObject({ kind: "anchor", type: "audit.break", code: "hash_mismatch" });
      expect(anchor?.detail).toContain("seq 4");
      reopened.close();
      // The break is named once: the next start sees it acknowledged by the anchor.
      const third = open(state.dir);
      expect(third.log.verification.problems.every((p) => p.acknowledged)).toBe(true);
      expect(third.log.read({ limit: 1 }).records[0]?.type).toBe("audit.start");
      third.log.close();
    } finally {
      state.cleanup();
    }
  });

  it("detects a deleted record, a tail cut at a record boundary, and a torn tail", () => {
    const state = fresh();
    try {
      const { log } = open(state.dir);
      for (let i = 0; i < 8; i++) log.append(entry("ping"));
      log.close();
      const [file] = auditFiles(state.dir);
      if (file === undefined) throw new Error("no file");
      const lines = readFileSync(file, "utf8").split("\n");
      writeFileSync(file, [...lines.slice(0, 3), ...lines.slice(4)].join("\n")); // seq 3 deleted
      const deleted = open(state.dir);
      expect(deleted.log.verification.problems).toMatchObject([{ reason: "link_mismatch", seq: 4 }]);
      expect(readAll((before) => deleted.log.read({ before, limit: 200 })).breaks).toEqual([4]);
      for (let i = 0; i < 3; i++) deleted.log.append(entry("ping"));
      deleted.log.close();

      // Cut the last two whole records (the new anchor and the one before): only head.json knows.
      const files = auditFiles(state.dir);
      const last = files.at(-1) ?? "";
      const kept = readFileSync(last, "utf8").split("\n").filter(Boolean);
      writeFileSync(
        last,
        kept
          .slice(0, -2)
          .map((l) => l + "\n")
          .join(""),
      );
      const cut = open(state.dir);
      expect(cut.log.verification.problems.filter((p) => !p.acknowledged)).toMatchObject([{ reason: "truncated" }]);
      expect(cut.log.read({ limit: 1 }).records[0]).toMatchObject({ type: "audit.break", code: "truncated" });
      cut.log.close();

      // A torn tail (a write cut mid-record): reported, and the log continues in a new file.
      const active = auditFiles(state.dir).at(-1) ?? "";
      truncateSync(active, statSync(active).size - 20);
      const before = readFileSync(active);
      const torn = open(state.dir);
      expect(torn.log.verification.problems.filter((p) => !p.acknowledged)).toMatchObject([
        { reason: "torn_tail" },
        { reason: "truncated" },
      ]);
      torn.log.append(entry("ping"));
      torn.log.close();
      expect(readFileSync(active).equals(before)).toBe(true);
      expect(auditFiles(state.dir).length).toBe(files.length + 2);
    } finally {
      state.cleanup();
    }
  });

  it("rotates at the size bound, drops the oldest files, and stays verifiable across files", () => {
    const state = fresh();
    try {
      const { log } = open(state.dir, { maxFileBytes: 3000, maxFiles: 3 });
      for (let i = 0; i < 120; i++) log.append(entry("devices.locate", `mac=02:00:00:00:01:${(i % 90) + 10}`));
      log.close();
      const files = auditFiles(state.dir);
      expect(files.length).toBe(3);
      // The first record of each file links to the last hash of the file before it.
      const parsed = files.map((f) =>
        readFileSync(f, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as TAuditRecord),
      );
      for (let i = 1; i < parsed.length; i++) expect(parsed[i]?.[0]?.prev).toBe(parsed[i - 1]?.at(-1)?.hash);
      const reopened = open(state.dir, { maxFileBytes: 3000, maxFiles: 3 });
      expect(reopened.log.verification.problems).toEqual([]);
      const all = readAll((before) => reopened.log.read({ before, limit: 7 }));
      expect(all.breaks).toEqual([]);
      expect(all.records.at(-1)?.seq).toBe(121);
      reopened.log.close();
    } finally {
      state.cleanup();
    }
  });

  it("summarizes targets from allowlisted, pattern-checked fields only", () => {
    expect(summarizeTarget({ mac: "02:00:00:00:00:01", password: PASSWORD })).toBe("mac=02:00:00:00:00:01");
    expect(
      summarizeTarget({
        devices: [{ mac: "02:00:00:00:00:01", ip: "127.0.0.2" }, { mac: "02:00:00:00:00:02" }],
        credentials: { login: { username: USERNAME, password: PASSWORD } },
      }),
    ).toBe("devices=2 (first 02:00:00:00:00:01)");
    expect(summarizeTarget({ mac: PASSWORD, entryId: "not an id!", target: { group: "core" } })).toBe("target=core");
    expect(summarizeTarget({ secret: { password: PASSWORD } })).toBeNull();
  });
});

describe("audit log of a running companion, end to end", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const state = tempStateDir();
  const { logger } = captureLogger();
  let admin: TestAccount;
  let instance: TestInstance;
  let companion: RunningCompanion;
  let sim: SimulatorHandle;
  const vaultKey = generateBoxKeyPair();

  beforeAll(async () => {
    sim = await startSimulator({
      devices: 3,
      seed: 23,
      firstAddress: "127.0.7.2",
      discovery: "off",
      adminPort: 0,
      username: USERNAME,
      password: PASSWORD,
      faultRate: 0,
    });
    await consoleServer.start();
    admin = makeAccount();
    instance = await makeInstance(admin, "audited");
    consoleServer.instances.set(instance.instanceId, instance.record);
    await enrollInto(state.dir, instance.enrollment(consoleServer.url, cert.pin), logger);
    companion = runCompanion(state.dir, logger, { scanRanges: "127.0.7.0/24" });
    await waitUntil(() => consoleServer.isOnline(instance.instanceId), 5000, "companion online");
  });

  afterAll(async () => {
    companion.stop();
    await companion.finished;
    await consoleServer.stop();
    await sim.stop();
    state.cleanup();
  });

  const session = async (role: "viewer" | "auditor" | "operator" | "admin") => {
    const account = makeAccount();
    const b = new BrowserSession(consoleServer, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      bundle: signGrant({ signer: admin, account, instanceId: instance.instanceId, role }),
    });
    await b.open();
    return { b, accountId: account.accountId };
  };
  const target = (i: number) => {
    const d = sim.devices[i];
    if (d === undefined) throw new Error("no device");
    return { mac: d.mac, ip: d.ip, port: sim.adminPort };
  };

  it("records every request with who, what and result; no secret reaches the file; roles hold", async () => {
    const adminS = await session("admin");
    const op = await session("operator");
    const viewer = await session("viewer");
    const auditor = await session("auditor");
    const results = [
      [adminS, await adminS.b.request("vault.init", { publicKey: toBase64Url(vaultKey.publicKey) })],
      [op, await op.b.request("ping")],
      [
        op,
        await op.b.request("vault.put", {
          target: { mac: target(2).mac },
          label: "spare",
          secret: { kind: "password", username: USERNAME, password: VAULT_PASSWORD },
          notes: `note ${VAULT_PASSWORD}`,
        }),
      ],
      [
        op,
        await op.b.request("discovery.adopt", {
          devices: [target(0)],
          credentials: { login: { username: USERNAME, password: PASSWORD } },
          install: { informUrl: "http://127.0.0.1:9/inform" },
        }),
      ],
      [
        adminS,
        await adminS.b.request("vault.generate", {
          devices: [target(1)],
          login: { username: USERNAME, password: PASSWORD },
        }),
      ],
      [viewer, await viewer.b.request("vault.status")],
      [viewer, await viewer.b.request("audit.read", { limit: 10 })],
      [auditor, await auditor.b.request("system.info")],
    ] as const;
    expect(results.map(([, r]) => (r.kind === "error" ? r.error.code : r.kind))).toEqual([
      "result",
      "result",
      "result",
      "result",
      "result",
      "forbidden",
      "forbidden",
      "result",
    ]);
    // Let the adoption and generation jobs finish (they use the password after the result).
    await waitUntil(() => sim.devices[0]?.unifi.informUrl !== undefined, 10_000, "adoption");
    await new Promise((r) => setTimeout(r, 1500));

    const read = await auditor.b.request("audit.read", { limit: 200 });
    expect(read.kind).toBe("result");
    const page = ZAuditReadResultSchema.parse(read.kind === "result" ? read.body : null);
    expect(verifyAuditChain(page.records, sha256Hex, page.previousHash)).toEqual([]);
    expect(page.records.at(-1)?.hash).toBe(page.head?.hash);
    const requests = page.records.filter((r) => r.kind === "request");
    const types = (accountId: string) =>
      requests.filter((r) => r.accountId === accountId).map((r) => [r.type, r.result, r.code]);
    // Successful pings are counted in the session's close record, not recorded one by one.
    expect(types(op.accountId)).toEqual([
      ["vault.put", "ok", null],
      ["discovery.adopt", "ok", null],
    ]);
    expect(types(viewer.accountId)).toEqual([
      ["vault.status", "error", "forbidden"],
      ["audit.read", "error", "forbidden"],
    ]);
    expect(types(adminS.accountId)).toEqual([
      ["vault.init", "ok", null],
      ["vault.generate", "ok", null],
    ]);
    const adopt = requests.find((r) => r.type === "discovery.adopt");
    expect(adopt).toMatchObject({ role: "operator", target: `devices=${target(0).mac}` });
    expect(adopt?.signer).toMatch(/^[0-9a-f]{64}$/);
    expect(requests.find((r) => r.type === "vault.put")?.target).toBe(`target=${target(2).mac}`);
    expect(page.records.filter((r) => r.type === "session.open").length).toBeGreaterThanOrEqual(4);

    companion.audit.flush();
    const needles = [PASSWORD, VAULT_PASSWORD, toBase64Url(vaultKey.privateKey)].flatMap((p) => [
      p,
      Buffer.from(p).toString("base64"),
      Buffer.from(p).toString("base64url"),
    ]);
    for (const file of auditFiles(state.dir)) {
      const text = readFileSync(file, "latin1");
      for (const n of needles) expect(text.includes(n), `${file} holds a secret`).toBe(false);
    }
    // Closing the session records it, with how long it lasted and its pings.
    expect((await op.b.request("ping")).kind).toBe("result");
    op.b.sendRaw({ instanceId: instance.instanceId, sessionId: op.b.sessionId, kind: "close", frame: "" });
    await waitUntil(
      () => companion.audit.read({ limit: 20 }).records.some((r) => r.type === "session.close"),
      5000,
      "session.close record",
    );
    const closed = companion.audit.read({ limit: 20 }).records.find((r) => r.type === "session.close");
    expect(closed).toMatchObject({
      kind: "session",
      accountId: op.accountId,
      role: "operator",
      result: "ok",
      code: "peer_closed",
      metrics: { pings: 2 },
      target: `sessionId=${op.b.sessionId}`,
    });
    expect(closed?.durationMs).toBeGreaterThan(0);
    for (const s of [adminS, op, viewer, auditor]) s.b.dispose();
  });

  it("records a refused session without trusting anything in it", async () => {
    const account = makeAccount();
    const b = new BrowserSession(consoleServer, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      // Signed by someone the companion does not trust.
      bundle: signGrant({ signer: makeAccount(), account, instanceId: instance.instanceId, role: "admin" }),
    });
    await expect(b.open()).rejects.toThrow(/refused/);
    const last = companion.audit.read({ limit: 5 }).records.at(-1);
    expect(last).toMatchObject({ type: "session.refused", result: "error", code: "unknown_signer", accountId: null });
    b.dispose();
  });
});
