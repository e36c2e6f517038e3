// Raising the idle timeout (PUT /api/account/idle-timeout) applies to the account's live sessions.
// It must not revive the ones already over: a token idle past its deadline (say, left in a
// browser profile someone else now reads, or restored with a closed tab) would start working
// again, with its tab vault share if the periodic clean-up has not cleared it yet. The attacker
// replays such tokens after the account owner raises the timeout.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions } from "@veil/db";
import { logInSession, signUp, stepUp, type TestAccount } from "./helpers/accounts";
import { DATABASE_URL, drivers, PG_SKIP_MESSAGE, startTestConsole, type TestConsole } from "./helpers/console";

for (const driver of drivers) {
  const skip = driver === "postgres" && !DATABASE_URL;
  if (skip) console.warn(`[console idle timeout] ${PG_SKIP_MESSAGE}`);

  describe.skipIf(skip)(`raising the idle timeout on ${driver}`, () => {
    let c: TestConsole;
    let owner: TestAccount;

    beforeAll(async () => {
      const generous = { perIp: 10_000, perAccount: 10_000, windowSeconds: 60 };
      c = await startTestConsole({
        driver,
        rateLimits: { login: generous, signup: generous, twoFactor: generous, apiRead: generous, apiWrite: generous },
      });
      owner = await signUp(c.api, "idle-owner@example.test");
    });
    afterAll(async () => {
      await c?.stop();
    });

    const newSession = () => logInSession(c.api, owner);
    const stored = async (sessionId: string) => {
      const [row] = await c.running.database.db.select().from(sessions).where(eq(sessions.id, sessionId));
      return row;
    };

    it("sessions already idle past their deadline, or past their cap, stay over; live ones get the new timeout", async () => {
      const db = c.running.database.db;
      const idle = await newSession();
      const capped = await newSession();
      const live = await newSession();
      const before = (await stored(idle.sessionId))?.idleTimeoutSeconds ?? 0;
      expect(before).toBeLessThan(30 * 86_400);
      // Idle a minute past its deadline (under the timeout it has); past its absolute expiry.
      await db
        .update(sessions)
        .set({ lastSeenAt: new Date(Date.now() - (before + 60) * 1000) })
        .where(eq(sessions.id, idle.sessionId));
      await db
        .update(sessions)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(sessions.id, capped.sessionId));

      await stepUp(c.api, owner);
      const put = await c.api("/api/account/idle-timeout", {
        method: "PUT",
        body: { seconds: 30 * 86_400 },
        token: owner.token,
      });
      expect(put.status).toBe(200);

      for (const s of [idle, capped]) {
        const replay = await c.api("/api/me", { token: s.token });
        expect(replay.status).toBe(401);
        expect(replay.json).toMatchObject({ error: { code: "session_expired" } });
      }
      expect((await stored(idle.sessionId))?.idleTimeoutSeconds).toBe(before);
      expect((await stored(live.sessionId))?.idleTimeoutSeconds).toBe(30 * 86_400);
      expect((await stored(owner.session.sessionId))?.idleTimeoutSeconds).toBe(30 * 86_400);
      expect((await c.api("/api/me", { token: live.token })).status).toBe(200);
    });
  });
}
