import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AuditRecorder } from "../src/audit/record-request";
import { dispatchRequest } from "../src/e2e/dispatch-request";
import { ReplayCache } from "../src/e2e/replay-cache";
import type { RequestHandler } from "../src/e2e/request-context";
import type { TE2EResponse } from "../src/protocol";
import { dispatchContext, dispatchOne, testRequest } from "./harness/dispatch";

/** Dispatches through a cache with handlers that count how often each type ran. */
function harness(cache = new ReplayCache()) {
  const ran: Record<string, number> = {};
  const count =
    (type: string, result: (body: unknown) => unknown): RequestHandler =>
    (body) => {
      ran[type] = (ran[type] ?? 0) + 1;
      return result(body);
    };
  const handlers = {
    ping: count("ping", () => ({ receivedAt: 1 })),
    "system.info": count("system.info", () => ({
      hostname: "h".repeat(255),
      platform: "linux",
      release: "r".repeat(128),
      arch: "x64",
      nodeVersion: "v20",
      uptimeSeconds: 1,
      loadAverage: [0, 0, 0],
      memory: { totalBytes: 1, freeBytes: 1, rssBytes: 1 },
      companionVersion: "1",
    })),
    "token.rotate": count("token.rotate", () => ({ enrollment: "veil1_x" })),
    "vault.status": count("vault.status", () => ({
      initialized: true,
      unlocked: false,
      entries: 0,
      publicKeySha256: null,
      autoLockAt: null,
    })),
    // 200 outages: a read answer of about 15,000 characters.
    "outages.list": count("outages.list", () => ({
      total: 200,
      outages: Array.from({ length: 200 }, (_, i) => ({ mac: "02:00:00:00:00:01", start: i, end: i + 1 })),
    })),
  } as unknown as Parameters<typeof dispatchRequest>[1]["handlers"];
  const accountId = randomUUID();
  const context = (role: string, audit?: AuditRecorder) => dispatchContext({ cache, handlers, role, accountId, audit });
  const send = (type: string, id: string, role = "admin"): Promise<TE2EResponse> =>
    dispatchOne(testRequest(type, id), context(role));
  return { send, ran, cache, context };
}

describe("at most once: the replay record", () => {
  it("answers a repeated write and a repeated small read from the record, without running them again", async () => {
    const { send, ran } = harness();
    for (const type of ["token.rotate", "ping"]) {
      const id = randomUUID();
      const first = await send(type, id);
      expect(first.kind).toBe("result");
      expect(await send(type, id)).toEqual(first);
      expect(ran[type]).toBe(1);
    }
  });

  it("answers first, then writes the replay record and the audit entry, even when the answer fails", async () => {
    const { ran, cache, context } = harness();
    const audited: { response: TE2EResponse }[] = [];
    const audit = { request: (entry: { response: TE2EResponse }) => audited.push(entry) } as unknown as AuditRecorder;
    const id = randomUUID();
    let seenByAnswer: unknown;
    await dispatchRequest(testRequest("token.rotate", id), context("admin", audit), () => {
      // While the answer goes out, the id is still claimed (a repeat now is refused as running)
      // and nothing is audited yet.
      seenByAnswer = {
        claim: cache.claim(context("admin").grant.accountId, id, Date.now() + 60_000, Date.now()),
        audited: audited.length,
      };
    });
    expect(seenByAnswer).toEqual({ claim: "running", audited: 0 });
    expect(audited).toHaveLength(1);
    // Once the answer is out, a repeat gets the recorded result.
    const repeat: TE2EResponse[] = [];
    await dispatchRequest(testRequest("token.rotate", id), context("admin", audit), (r) => repeat.push(r));
    expect(repeat[0]).toEqual(audited[0]?.response);
    // An answer that throws still leaves the request recorded as run, and audited.
    const failing = randomUUID();
    expect(() =>
      dispatchRequest(testRequest("token.rotate", failing), context("admin", audit), () => {
        throw new Error("socket gone");
      }),
    ).toThrow("socket gone");
    expect(audited).toHaveLength(3);
    const again: TE2EResponse[] = [];
    await dispatchRequest(testRequest("token.rotate", failing), context("admin", audit), (r) => again.push(r));
    expect(again[0]).toMatchObject({ kind: "result", id: failing, type: "token.rotate" });
    expect(ran["token.rotate"]).toBe(2);
  });

  it("keeps no copy of a large read: its repeat is refused as a duplicate and does not run again", async () => {
    const { send, ran } = harness();
    const id = randomUUID();
    const first = await send("outages.list", id);
    expect(first.kind).toBe("result");
    expect(JSON.stringify(first).length).toBeGreaterThan(4096);
    expect(await send("outages.list", id)).toMatchObject({ kind: "error", id, error: { code: "duplicate" } });
    expect(ran["outages.list"]).toBe(1);
  });

  it("keeps no vault answer, and checks the role before answering a repeat", async () => {
    const cache = new ReplayCache();
    const { send, ran } = harness(cache);
    const id = randomUUID();
    // The harness's vault.status answers as if a vault existed (admin may read it).
    expect((await send("vault.status", id)).kind).toBe("result");
    expect(await send("vault.status", id)).toMatchObject({ kind: "error", error: { code: "duplicate" } });
    expect(ran["vault.status"]).toBe(1);
    expect(cache.keptChars).toBe(0);
    // A viewer repeating an admin's write id gets `forbidden`, not the admin's record.
    const rotate = randomUUID();
    expect((await send("token.rotate", rotate)).kind).toBe("result");
    expect(await send("token.rotate", rotate, "viewer")).toMatchObject({ kind: "error", error: { code: "forbidden" } });
  });

  it("bounds ids per account and in all, and the characters of kept answers", () => {
    const now = Date.now();
    const cache = new ReplayCache({
      maxEntries: 10,
      perAccount: 4,
      reservedPerAccount: 0,
      maxReserved: 0,
      maxKeptChars: 100,
      sweepEveryMs: 1000,
    });
    for (let i = 0; i < 4; i++) expect(cache.claim("a", `a${i}`, now + 500, now)).toBe("new");
    // One account is full; another still gets in.
    expect(cache.claim("a", "a4", now + 500, now)).toBe("full");
    for (let i = 0; i < 4; i++) expect(cache.claim("b", `b${i}`, now + 500, now)).toBe("new");
    expect(cache.claim("c", "c0", now + 500, now)).toBe("new");
    expect(cache.claim("c", "c1", now + 500, now)).toBe("new");
    expect(cache.claim("d", "d0", now + 500, now)).toBe("full");
    // Kept answers stop at the character budget: the rest are remembered as "done" only.
    const r = (id: string): TE2EResponse => ({ kind: "result", id, type: "ping", body: { receivedAt: 1 } });
    cache.complete("a", "a0", r("a0"), 60);
    cache.complete("a", "a1", r("a1"), 60);
    expect(cache.keptChars).toBe(60);
    expect(cache.claim("a", "a0", now + 500, now)).toEqual(r("a0"));
    expect(cache.claim("a", "a1", now + 500, now)).toBe("done");
    // Expired ids are swept (at most once a second), freeing room and budget.
    expect(cache.claim("d", "d1", now + 60_000, now + 1000)).toBe("new");
    expect(cache.size(now + 1000)).toBe(1);
    expect(cache.keptChars).toBe(0);
  });

  it("is full only once ids that expired since the last sweep are swept (a forced sweep at most every 100 ms)", () => {
    const t = 1_000_000;
    const cache = new ReplayCache({
      maxEntries: 100,
      perAccount: 4,
      reservedPerAccount: 0,
      maxReserved: 0,
      maxKeptChars: 100,
      sweepEveryMs: 1000,
    });
    expect(cache.claim("a", "first", t + 10_000, t)).toBe("new");
    for (let i = 0; i < 3; i++) expect(cache.claim("a", `short${i}`, t + 200, t + 1)).toBe("new");
    expect(cache.claim("a", "more", t + 10_000, t + 50)).toBe("full");
    // The three short ones expired; the regular sweep is not due for most of a second.
    expect(cache.claim("a", "more", t + 10_000, t + 300)).toBe("new");
    for (const id of ["x1", "x2"]) expect(cache.claim("a", id, t + 10_000, t + 310)).toBe("new");
    // Full for good now (nothing expired), and no forced sweep again within 100 ms.
    expect(cache.claim("a", "again", t + 10_000, t + 350)).toBe("full");
    expect(cache.size(t + 350)).toBe(4);
  });

  it("colluding accounts that fill the record leave every other account its reserve, and the reserve is bounded", () => {
    const now = Date.now();
    const limits = {
      maxEntries: 200_000,
      perAccount: 50_000,
      reservedPerAccount: 1_000,
      maxReserved: 50_000,
      maxKeptChars: 100,
      sweepEveryMs: 1000,
    };
    const cache = new ReplayCache(limits);
    const claims = (account: string, n: number): number => {
      let taken = 0;
      for (let i = 0; i < n; i++) if (cache.claim(account, `${account}/${i}`, now + 300_000, now) === "new") taken += 1;
      return taken;
    };
    // Four accounts take 50,000 each: the shared part is full, and they get no more.
    for (const c of ["c1", "c2", "c3", "c4"]) expect(claims(c, 50_001)).toBe(50_000);
    expect(claims("c1", 10)).toBe(0);
    // Another account still gets its 1,000, not more.
    expect(claims("honest", 1_001)).toBe(1_000);
    // The reserve itself is bounded: 49 more accounts take what is left of it, then it is spent.
    for (let k = 0; k < 49; k++) expect(claims(`small${k}`, 1_000)).toBe(1_000);
    expect(claims("late", 1)).toBe(0);
    expect(cache.size(now)).toBe(limits.maxEntries + limits.maxReserved);
  });
});
