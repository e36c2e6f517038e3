// The tab vault share: the console's half of the key that re-opens a tab's sealed private keys
// on reload. Someone who reopens a closed tab (session restore brings sessionStorage back) or
// reads the profile on disk holds the browser's two halves; they must not get the third once
// the session has ended. Here the attacker replays the restored token to GET /api/me after
// log-out, revocation and expiry, and reads the database row the console would serve it from.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions } from "@veil/db";
import { ZMeResponseSchema } from "@veil/protocol";
import { pruneLoginState } from "../src/server/auth/prune-login-state";
import { logInSession, signUp, type TestAccount } from "./helpers/accounts";
import { DATABASE_URL, drivers, PG_SKIP_MESSAGE, startTestConsole, type TestConsole } from "./helpers/console";

for (const driver of drivers) {
  const skip = driver === "postgres" && !DATABASE_URL;
  if (skip) console.warn(`[console session share] ${PG_SKIP_MESSAGE}`);

  describe.skipIf(skip)(`the tab vault share on ${driver}`, () => {
    let c: TestConsole;
    let admin: TestAccount;

    beforeAll(async () => {
      const generous = { perIp: 10_000, perAccount: 10_000, windowSeconds: 60 };
      c = await startTestConsole({
        driver,
        rateLimits: { login: generous, signup: generous, twoFactor: generous, apiRead: generous, apiWrite: generous },
      });
      admin = await signUp(c.api, "share-admin@example.test");
    });
    afterAll(async () => {
      await c?.stop();
    });

    const newSession = () => logInSession(c.api, admin);
    const shareOf = async (token: string) => {
      const r = await c.api("/api/me", { token });
      return {
        status: r.status,
        share: r.status === 200 ? ZMeResponseSchema.parse(r.json).session.tabVaultShare : null,
      };
    };
    const storedShare = async (sessionId: string) => {
      const [row] = await c.running.database.db
        .select({ share: sessions.tabVaultShare })
        .from(sessions)
        .where(eq(sessions.id, sessionId));
      return row?.share;
    };

    it("gives each live session its own 32-byte share, the same on every read", async () => {
      const a = await newSession();
      const b = await newSession();
      const first = await shareOf(a.token);
      expect(first.status).toBe(200);
      expect(first.share).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(first.share ?? "", "base64url")).toHaveLength(32);
      expect((await shareOf(a.token)).share).toBe(first.share);
      const second = await shareOf(b.token);
      expect(second.share).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(second.share).not.toBe(first.share);
      expect(await storedShare(a.sessionId)).toBe(first.share);
      // Not part of what sign-in answers, nor of the session list: only GET /api/me, to the session itself.
      expect(JSON.stringify(a)).not.toContain(first.share);
      const list = await c.api("/api/sessions", { token: a.token });
      expect(list.status).toBe(200);
      expect(list.text).not.toContain(first.share);
      expect(list.text).not.toContain(second.share);
    });

    it("after log-out the share is gone: the restored token gets no share, the row holds none", async () => {
      const s = await newSession();
      const { share } = await shareOf(s.token);
      expect(share).toBeTruthy();
      expect((await c.api("/api/auth/logout", { body: {}, token: s.token })).status).toBe(200);
      // The attacker's reopened tab replays the token it restored.
      const replay = await c.api("/api/me", { token: s.token });
      expect(replay.status).toBe(401);
      expect(replay.text).not.toContain(share);
      expect(await storedShare(s.sessionId)).toBeNull();
    });

    it("after revocation (from another session, or any code that sets revoked_at) the share is gone", async () => {
      const s = await newSession();
      expect((await shareOf(s.token)).share).toBeTruthy();
      const r = await c.api(`/api/sessions/${s.sessionId}`, { method: "DELETE", token: admin.token });
      expect(r.status).toBe(200);
      expect((await shareOf(s.token)).status).toBe(401);
      expect(await storedShare(s.sessionId)).toBeNull();

      // Password change and recovery revoke other sessions with their own UPDATE: the database
      // clears the share whenever revoked_at is set, whatever the statement.
      const t = await newSession();
      expect(await storedShare(t.sessionId)).toBeTruthy();
      await c.running.database.db.update(sessions).set({ revokedAt: new Date() }).where(eq(sessions.id, t.sessionId));
      expect(await storedShare(t.sessionId)).toBeNull();
      expect((await shareOf(t.token)).status).toBe(401);
    });

    it("after idle or absolute expiry the share is gone, at the next use or by the clean-up", async () => {
      const db = c.running.database.db;
      const idle = await newSession();
      const capped = await newSession();
      const untouched = await newSession();
      const live = await newSession();
      const liveShare = (await shareOf(live.token)).share;
      for (const s of [idle, capped, untouched]) expect((await shareOf(s.token)).share).toBeTruthy();
      // Idle past the timeout; past the absolute cap; idle and never used again.
      const past = new Date(Date.now() - 2 * 86_400_000);
      await db.update(sessions).set({ lastSeenAt: past }).where(eq(sessions.id, idle.sessionId));
      await db
        .update(sessions)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(sessions.id, capped.sessionId));
      await db.update(sessions).set({ lastSeenAt: past }).where(eq(sessions.id, untouched.sessionId));

      for (const s of [idle, capped]) {
        const replay = await c.api("/api/me", { token: s.token });
        expect(replay.status).toBe(401);
        expect(replay.json).toMatchObject({ error: { code: "session_expired" } });
        expect(await storedShare(s.sessionId)).toBeNull();
      }
      // Nobody came back for this one: the periodic clean-up clears it, and nothing live.
      expect(await storedShare(untouched.sessionId)).toBeTruthy();
      const pruned = await pruneLoginState(db, c.running.config.lockout);
      expect(pruned.shares).toBeGreaterThanOrEqual(1);
      expect(await storedShare(untouched.sessionId)).toBeNull();
      expect(await storedShare(live.sessionId)).toBe(liveShare);
      expect((await shareOf(live.token)).share).toBe(liveShare);
      expect((await shareOf(admin.token)).share).toMatch(/^[A-Za-z0-9_-]{43}$/);

      // No ended session anywhere keeps a share.
      const leftovers = await db
        .select({ id: sessions.id })
        .from(sessions)
        .where(
          sql`${sessions.tabVaultShare} is not null and (${sessions.revokedAt} is not null or ${sessions.expiresAt} <= now())`,
        );
      expect(leftovers).toEqual([]);
    });
  });
}
