import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateIdentityKeyPair } from "@veil/crypto";
import { AUDIT_GENESIS_HASH, auditHashInput, type TAuditReadResult, type TAuditRecord } from "@veil/protocol";
import { auditSha256Hex, verifyAuditPage } from "../../apps/console/src/client/companion-audit/verify-audit-page";
import {
  checkContinuity,
  rememberHead,
  remembersHead,
  seenHead,
  type SeenHead,
} from "../../apps/console/src/client/companion-audit/audit-continuity";
import { ownerScope } from "../../apps/console/src/client/local-records";
import { AuditLog } from "../../apps/companion/src/audit/audit-log";
import { systemClock } from "../../apps/companion/src/clock";
import { silentLogger } from "../../apps/companion/src/log";

/** A chain of `n` request records made the way the companion makes them. */
function chain(n: number): TAuditRecord[] {
  const out: TAuditRecord[] = [];
  let prev = AUDIT_GENESIS_HASH;
  for (let seq = 0; seq < n; seq++) {
    const unsigned = {
      seq,
      at: 1_800_000_000_000 + seq,
      kind: "request" as const,
      accountId: randomUUID(),
      signer: "b".repeat(64),
      role: "operator" as const,
      type: "devices.reboot",
      target: `mac=02:00:00:00:00:${String(seq % 90).padStart(2, "0")}`,
      result: "ok" as const,
      code: null,
      durationMs: seq,
      metrics: seq === 3 ? { bytesIn: 10, bytesOut: 20 } : null,
      detail: null,
      prev,
    };
    const record = { ...unsigned, hash: auditSha256Hex(auditHashInput(unsigned)) };
    out.push(record);
    prev = record.hash;
  }
  return out;
}

/** The page `audit.read` would return for records[from, to) of `all`. */
function page(all: TAuditRecord[], from: number, to: number): TAuditReadResult {
  const last = all.at(-1);
  return {
    records: all.slice(from, to),
    previousHash: from === 0 ? null : (all[from - 1]?.hash ?? null),
    more: from > 0,
    head: last === undefined ? null : { seq: last.seq, hash: last.hash },
  };
}

describe("browser re-verification of audit pages", () => {
  const all = chain(12);

  it("accepts an untouched chain, page by page and across pages", () => {
    const newest = page(all, 6, 12);
    expect(verifyAuditPage(newest, { newest: true })).toEqual({ ok: true, breaks: [] });
    expect(verifyAuditPage(page(all, 0, 6), { newest: false, newerFirst: newest.records[0] })).toEqual({
      ok: true,
      breaks: [],
    });
  });

  it("names a changed record (content edited, hash left as it was)", () => {
    const tampered = all.map((r) => (r.seq === 8 ? { ...r, target: "mac=02:00:00:00:00:99" } : r));
    const check = verifyAuditPage(page(tampered, 6, 12), { newest: true });
    expect(check.ok).toBe(false);
    expect(check.breaks).toMatchObject([{ seq: 8, reason: "hash_mismatch" }]);
    expect(check.breaks[0]?.text).toContain("record 8 was changed");
  });

  it("names a record whose hash was recomputed to match its edit (the next link breaks)", () => {
    const edited = { ...all[8], result: "error" as const, code: "forbidden" } as TAuditRecord;
    const { hash: _old, ...rest } = edited;
    const rehashed = { ...rest, hash: auditSha256Hex(auditHashInput(rest)) };
    const tampered = all.map((r) => (r.seq === 8 ? rehashed : r));
    expect(verifyAuditPage(page(tampered, 6, 12), { newest: true }).breaks).toMatchObject([
      { seq: 9, reason: "link_mismatch" },
    ]);
  });

  it("names a deleted record, a moved head, a page that does not link to the one shown before, and a reordered page", () => {
    const deleted = all.filter((r) => r.seq !== 9);
    expect(verifyAuditPage(page(deleted, 6, 11), { newest: true }).breaks).toMatchObject([
      { seq: 10, reason: "link_mismatch" },
    ]);

    const cut = { ...page(all, 6, 11), head: { seq: 11, hash: all[11]?.hash ?? "" } };
    expect(verifyAuditPage(cut, { newest: true }).breaks).toMatchObject([{ seq: 10, reason: "head_mismatch" }]);

    const other = chain(6); // a different history, spliced in as the older page
    const newest = page(all, 6, 12);
    expect(verifyAuditPage(page(other, 0, 6), { newest: false, newerFirst: newest.records[0] }).breaks).toMatchObject([
      { seq: 6, reason: "link_mismatch" },
    ]);

    const swapped = page(all, 6, 12);
    const [a, b, ...rest] = swapped.records;
    if (a === undefined || b === undefined) throw new Error("short page");
    expect(verifyAuditPage({ ...swapped, records: [b, a, ...rest] }, { newest: true }).ok).toBe(false);
  });

  it("verifies what the companion's own log writes (same hash rule on both sides)", () => {
    const dir = mkdtempSync(join(tmpdir(), "veil-audit-verify-"));
    try {
      const log = AuditLog.open({ stateDir: dir, clock: systemClock, logger: silentLogger });
      for (let i = 0; i < 30; i++)
        log.append({
          kind: "request",
          accountId: randomUUID(),
          signer: "c".repeat(64),
          role: "admin",
          type: "vault.generate",
          target: `devices=${i + 1}`,
          result: i % 3 === 0 ? "error" : "ok",
          code: i % 3 === 0 ? "unavailable" : null,
          durationMs: i,
          metrics: i === 4 ? { bytesIn: 1, bytesOut: 2 } : null,
          detail: null,
        });
      const newest = log.read({ limit: 10 });
      const older = log.read({ before: newest.records[0]?.seq ?? 0, limit: 50 });
      log.close();
      // 30 records and the log's own start anchor: ten on the newest page, the other 21 older.
      expect(newest.records).toHaveLength(10);
      expect(older.records).toHaveLength(21);
      expect(verifyAuditPage(newest, { newest: true })).toEqual({ ok: true, breaks: [] });
      expect(verifyAuditPage(older, { newest: false, newerFirst: newest.records[0] })).toEqual({
        ok: true,
        breaks: [],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("continuity across visits: the log still passes through the head this browser verified", () => {
  const all = chain(300);
  const at = 1_800_000_000_000;
  const seenAt = (records: TAuditRecord[], seq: number): SeenHead => ({ seq, hash: records[seq]?.hash ?? "", at });
  // Newest first, as the browser reads them: [200, 300), then [100, 200), then [0, 100).
  const pages = (records: TAuditRecord[], count: number): TAuditReadResult[] =>
    Array.from({ length: count }, (_, i) =>
      page(records, Math.max(0, records.length - 100 * (i + 1)), records.length - 100 * i),
    );

  it("first visit, then a log that grew and still passes through the head seen before", () => {
    expect(checkContinuity(pages(all, 1), undefined)).toEqual({ state: "first" });
    expect(checkContinuity(pages(all, 1), seenAt(all, 250))).toMatchObject({ state: "continues" });
    expect(checkContinuity(pages(all, 1), seenAt(all, 299))).toMatchObject({ state: "continues" });
  });

  it("a head older than the pages read is unreached until its page is in, then checked", () => {
    expect(checkContinuity(pages(all, 1), seenAt(all, 150))).toMatchObject({ state: "unreached", behind: 50 });
    expect(checkContinuity(pages(all, 2), seenAt(all, 150))).toMatchObject({ state: "continues" });
  });

  it("a log rewritten consistently (every hash recomputed) is refused, however well it verifies page by page", () => {
    const rewritten = chain(300);
    const [newest, ...older] = pages(rewritten, 3);
    if (newest === undefined) throw new Error("no page");
    expect(verifyAuditPage(newest, { newest: true }).ok).toBe(true);
    for (const p of older) expect(verifyAuditPage(p, { newest: false }).ok).toBe(true);
    const verdict = checkContinuity(pages(rewritten, 2), seenAt(all, 150));
    expect(verdict).toMatchObject({ state: "broken" });
    expect(verdict.state === "broken" ? verdict.text : "").toContain("record 150 is not the one this browser verified");
  });

  it("a log cut back before the head seen, or emptied, is refused", () => {
    const cut = all.slice(0, 120);
    const verdict = checkContinuity(pages(cut, 1), seenAt(all, 150));
    expect(verdict).toMatchObject({ state: "broken" });
    expect(verdict.state === "broken" ? verdict.text : "").toContain(
      "the log now ends at record 119, before record 150",
    );
    const empty: TAuditReadResult = { records: [], previousHash: null, more: false, head: null };
    expect(checkContinuity([empty], seenAt(all, 150))).toMatchObject({ state: "broken" });
  });

  it("a head that rotated out of the log is said to be unverifiable, not taken as continued", () => {
    // The companion keeps only records 200–299 now: nothing older is offered.
    const kept = { ...page(all, 200, 300), more: false };
    const verdict = checkContinuity([kept], seenAt(all, 150));
    expect(verdict).toMatchObject({ state: "rotated" });
    // Its head is not taken as the new reference without the operator: a log rewritten to start
    // after the record seen must not pass as "continues" on the next visit.
    expect(remembersHead(verdict)).toBe(false);
    expect(remembersHead(checkContinuity(pages(all, 2), seenAt(all, 150)))).toBe(true);
    expect(remembersHead(checkContinuity(pages(all, 1), undefined))).toBe(true);
    expect(remembersHead(checkContinuity(pages(all.slice(0, 120), 1), seenAt(all, 150)))).toBe(false);
  });

  it("remembers heads per instance and per account in localStorage, only forward unless replaced, and ignores a malformed store", () => {
    const store = new Map<string, string>();
    const local = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    };
    Object.defineProperty(globalThis, "localStorage", { value: local, configurable: true });
    try {
      // Heads belong to an account and its identity key (instances/trust.ts): passed explicitly
      // here, as no account is signed in in this process.
      const owner = { accountId: randomUUID(), identityPublicKey: generateIdentityKeyPair().publicKey };
      const other = { accountId: randomUUID(), identityPublicKey: generateIdentityKeyPair().publicKey };
      const id = randomUUID();
      expect(seenHead(id, owner)).toBeUndefined();
      rememberHead(id, seenAt(all, 200), { owner });
      rememberHead(id, seenAt(all, 100), { owner });
      expect(seenHead(id, owner)).toEqual(seenAt(all, 200));
      rememberHead(id, seenAt(all, 100), { owner, replace: true });
      expect(seenHead(id, owner)).toEqual(seenAt(all, 100));
      expect(seenHead(randomUUID(), owner)).toBeUndefined();
      // Kept under the v2 layout: { "<account id>.<identity-key fingerprint>": { "<instance id>": head } }.
      const stored = JSON.parse(store.get("veil.audit-heads.v2") ?? "{}") as Record<string, unknown>;
      expect(stored).toEqual({ [ownerScope(owner)]: { [id]: seenAt(all, 100) } });
      // Another account of the profile (or none signed in) does not see it.
      expect(seenHead(id, other)).toBeUndefined();
      expect(seenHead(id, null)).toBeUndefined();
      expect(seenHead(id)).toBeUndefined();
      rememberHead(id, seenAt(all, 250), { owner: other });
      expect(seenHead(id, other)).toEqual(seenAt(all, 250));
      expect(seenHead(id, owner)).toEqual(seenAt(all, 100));
      // A per-profile v1 record is trusted for nobody.
      const v1 = randomUUID();
      store.set("veil.audit-heads.v1", JSON.stringify({ [v1]: seenAt(all, 200) }));
      expect(seenHead(v1, owner)).toBeUndefined();
      // A malformed share of the store reads as empty, and leaves the other owner's as it was.
      const both = JSON.parse(store.get("veil.audit-heads.v2") ?? "{}") as Record<string, unknown>;
      store.set(
        "veil.audit-heads.v2",
        JSON.stringify({ ...both, [ownerScope(owner)]: { [id]: { seq: -1, hash: "x", at: 0 } } }),
      );
      expect(seenHead(id, owner)).toBeUndefined();
      expect(seenHead(id, other)).toEqual(seenAt(all, 250));
      store.set("veil.audit-heads.v2", "not json");
      expect(seenHead(id, owner)).toBeUndefined();
      expect(seenHead(id, other)).toBeUndefined();
    } finally {
      Reflect.deleteProperty(globalThis, "localStorage");
    }
  });
});
