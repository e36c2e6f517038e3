import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginChallenges, users } from "@veil/db";
import type { TLoginResponse, TMeResponse, TPreloginResponse, TSessionListResponse } from "@veil/protocol";
import { totpCode } from "../src/server/auth/totp";
import { invite, logIn, signUp, signupBody, stepUp, type TestAccount } from "./helpers/accounts";
import { DATABASE_URL, drivers, PG_SKIP_MESSAGE, startTestConsole, type TestConsole } from "./helpers/console";

const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");

for (const driver of drivers) {
  const skip = driver === "postgres" && !DATABASE_URL;
  if (skip) console.warn(`[console accounts] ${PG_SKIP_MESSAGE}`);

  describe.skipIf(skip)(`accounts API on ${driver}`, () => {
    let c: TestConsole;
    let admin: TestAccount;

    beforeAll(async () => {
      // Functional tests from one IP: generous limits here; abuse.test.ts covers the real ones.
      const generous = { perIp: 10_000, perAccount: 10_000, windowSeconds: 60 };
      c = await startTestConsole({
        driver,
        rateLimits: { login: generous, signup: generous, twoFactor: generous, apiRead: generous, apiWrite: generous },
      });
    });
    afterAll(async () => {
      await c?.stop();
    });

    it("answers /api/health without authentication", async () => {
      const r = await c.api("/api/health");
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ status: "ok", version: expect.any(String) as string });
    });

    it("the first sign-up becomes admin without an invite; later ones need one", async () => {
      admin = await signUp(c.api, "Admin@Example.test");
      expect(admin.session.user).toMatchObject({ email: "admin@example.test", role: "admin", totpEnabled: false });
      const r = await c.api("/api/auth/signup", { body: signupBody("second@example.test").body });
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ error: { code: "invite_required" } });
      const bogus = await c.api("/api/auth/signup", {
        body: signupBody("second@example.test", { inviteToken: b64u(randomBytes(32)) }).body,
      });
      expect(bogus.status).toBe(403);
    });

    it("refuses KDF params below the floor", async () => {
      const { body } = signupBody("weak@example.test");
      const r = await c.api("/api/auth/signup", { body: { ...body, kdf: { ...body.kdf, memoryKiB: 1024 } } });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ error: { code: "kdf_params_rejected" } });
    });

    it("pre-login gives real params for accounts and stable believable fakes for unknown e-mails", async () => {
      const real = (await c.api("/api/auth/prelogin", { body: { email: admin.email } })).json as TPreloginResponse;
      const fake1 = (await c.api("/api/auth/prelogin", { body: { email: "nobody@example.test" } }))
        .json as TPreloginResponse;
      const fake2 = (await c.api("/api/auth/prelogin", { body: { email: "NOBODY@example.test" } }))
        .json as TPreloginResponse;
      const other = (await c.api("/api/auth/prelogin", { body: { email: "nobody2@example.test" } }))
        .json as TPreloginResponse;
      expect(Object.keys(fake1.kdf).sort()).toEqual(Object.keys(real.kdf).sort());
      expect(fake1.kdf).toEqual(fake2.kdf);
      expect(fake1.kdf.salt).not.toBe(other.kdf.salt);
      expect(fake1.kdf.salt).toHaveLength(real.kdf.salt.length);
      expect({ ...fake1.kdf, salt: "" }).toEqual({ ...real.kdf, salt: "" });
    });

    it("logs in with the auth key; a wrong key and an unknown e-mail fail the same way", async () => {
      const ok = await logIn(c.api, admin.email, admin.authKey);
      expect(ok.status).toBe(200);
      const body = ok.json as Extract<TLoginResponse, { status: "ok" }>;
      expect(body.status).toBe("ok");
      expect(body.session.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const wrong = await logIn(c.api, admin.email, b64u(randomBytes(32)));
      const unknown = await logIn(c.api, "ghost@example.test", b64u(randomBytes(32)));
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.json).toEqual(unknown.json);
    });

    it("GET /api/me returns what the browser needs to unwrap its keys", async () => {
      const r = await c.api("/api/me", { token: admin.token });
      expect(r.status).toBe(200);
      const me = r.json as TMeResponse;
      expect(me.user.email).toBe("admin@example.test");
      expect(me.keys.wrappedIdentityKey).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(me.kdf.alg).toBe("argon2id");
      expect(me.recovery).toBeNull();
      expect(r.headers["cache-control"]).toBe("no-store");
    });

    it("needs the x-auth-token header: no token, a bad token or a cookie are 401", async () => {
      expect((await c.api("/api/me")).status).toBe(401);
      expect((await c.api("/api/me", { token: b64u(randomBytes(32)) })).status).toBe(401);
      expect((await c.api("/api/me", { headers: { cookie: `x-auth-token=${admin.token}` } })).status).toBe(401);
      expect((await c.api(`/api/me?token=${admin.token}`)).status).toBe(401);
    });

    it("lists and revokes sessions; logout ends the session", async () => {
      const second = (await logIn(c.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
      const list = (await c.api("/api/sessions", { token: admin.token })).json as TSessionListResponse;
      expect(list.sessions.length).toBeGreaterThanOrEqual(2);
      expect(list.sessions.filter((s) => s.current)).toHaveLength(1);
      // One spelling per id (an upper-cased one would revoke the row but miss the socket room).
      for (const id of [second.session.sessionId.toUpperCase(), "-".repeat(36)])
        expect((await c.api(`/api/sessions/${id}`, { method: "DELETE", token: admin.token })).status).toBe(404);
      expect((await c.api("/api/me", { token: second.session.token })).status).toBe(200);
      const revoke = await c.api(`/api/sessions/${second.session.sessionId}`, { method: "DELETE", token: admin.token });
      expect(revoke.status).toBe(200);
      expect((await c.api("/api/me", { token: second.session.token })).status).toBe(401);
      const third = (await logIn(c.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
      expect((await c.api("/api/auth/logout", { body: {}, token: third.session.token })).status).toBe(200);
      expect((await c.api("/api/me", { token: third.session.token })).status).toBe(401);
    });

    it("sets the idle timeout within 30 min – 30 days, only after a step-up", async () => {
      // A second session of the admin: the later step-up test needs the first one not stepped up.
      const second = (await logIn(c.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
      const session = { ...admin, token: second.session.token };
      const put = (seconds: number) =>
        c.api("/api/account/idle-timeout", { method: "PUT", body: { seconds }, token: session.token });
      expect((await put(60)).status).toBe(400);
      expect((await put(31 * 86400)).status).toBe(400);
      // It changes every live session of the account: a stolen token alone must not stretch them.
      const unproven = await put(30 * 86400);
      expect(unproven.status).toBe(401);
      expect(unproven.json).toMatchObject({ error: { code: "step_up_required" } });
      await stepUp(c.api, session);
      const ok = await put(7200);
      expect(ok.status).toBe(200);
      const list = (await c.api("/api/sessions", { token: admin.token })).json as TSessionListResponse;
      const current = list.sessions.find((s) => s.current);
      expect(current).toBeDefined();
      const idle = new Date(current?.idleExpiresAt ?? 0).getTime() - new Date(current?.lastSeenAt ?? 0).getTime();
      expect(idle).toBe(7200_000);
    });

    it("expires a session after its idle timeout", async () => {
      const s = (await logIn(c.api, admin.email, admin.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
      const { sessions } = await import("@veil/db");
      await c.running.database.db
        .update(sessions)
        .set({ lastSeenAt: new Date(Date.now() - 3 * 3600_000) })
        .where(eq(sessions.id, s.session.sessionId));
      const r = await c.api("/api/me", { token: s.session.token });
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ error: { code: "session_expired" } });
    });

    it("requires step-up for sensitive actions, and a correct auth key for step-up", async () => {
      const r = await c.api("/api/invites", { body: { role: "viewer" }, token: admin.token });
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ error: { code: "step_up_required" } });
      expect(
        (await c.api("/api/account/step-up", { body: { authKey: b64u(randomBytes(32)) }, token: admin.token })).status,
      ).toBe(401);
      await stepUp(c.api, admin);
      expect((await c.api("/api/invites", { body: { role: "viewer" }, token: admin.token })).status).toBe(201);
    });

    it("invites bind the role and the e-mail and are single-use", async () => {
      await stepUp(c.api, admin);
      const r = await c.api("/api/invites", {
        body: { email: "op@example.test", role: "operator" },
        token: admin.token,
      });
      const token = (r.json as { token: string }).token;
      const wrongEmail = await c.api("/api/auth/signup", {
        body: signupBody("other@example.test", { inviteToken: token }).body,
      });
      expect(wrongEmail.status).toBe(403);
      const op = await signUp(c.api, "op@example.test", token);
      expect(op.session.user.role).toBe("operator");
      const again = await c.api("/api/auth/signup", {
        body: signupBody("op2@example.test", { inviteToken: token }).body,
      });
      expect(again.status).toBe(403);
    });

    it("an unbound invite cannot test which e-mails have accounts: a taken one answers like a bad invite and uses it up", async () => {
      await stepUp(c.api, admin);
      const created = await c.api("/api/invites", { body: { role: "viewer" }, token: admin.token });
      const token = (created.json as { token: string }).token;
      const bad = await c.api("/api/auth/signup", {
        body: signupBody("free@example.test", { inviteToken: b64u(randomBytes(32)) }).body,
      });
      const taken = await c.api("/api/auth/signup", { body: signupBody(admin.email, { inviteToken: token }).body });
      expect(bad.status).toBe(403);
      expect(taken.status).toBe(bad.status);
      expect(taken.json).toEqual(bad.json);
      // The probe spent the invite: it no longer opens an account for a free e-mail either, so
      // each invite answers at most one such question.
      const after = await c.api("/api/auth/signup", {
        body: signupBody("free@example.test", { inviteToken: token }).body,
      });
      expect(after.status).toBe(bad.status);
      expect(after.json).toEqual(bad.json);
    });

    it("changes the password: new params and wrapped keys, other sessions end", async () => {
      const user = await invite(c.api, admin, "pw@example.test", "viewer");
      const other = (await logIn(c.api, user.email, user.authKey)).json as Extract<TLoginResponse, { status: "ok" }>;
      const next = signupBody(user.email);
      const bad = await c.api("/api/account/password", {
        body: {
          currentAuthKey: b64u(randomBytes(32)),
          kdf: next.body.kdf,
          authKey: next.authKey,
          wrappedIdentityKey: next.body.keys.wrappedIdentityKey,
          wrappedBoxKey: next.body.keys.wrappedBoxKey,
        },
        token: user.token,
      });
      expect(bad.status).toBe(401);
      const ok = await c.api("/api/account/password", {
        body: {
          currentAuthKey: user.authKey,
          kdf: next.body.kdf,
          authKey: next.authKey,
          wrappedIdentityKey: next.body.keys.wrappedIdentityKey,
          wrappedBoxKey: next.body.keys.wrappedBoxKey,
        },
        token: user.token,
      });
      expect(ok.status).toBe(200);
      expect((await c.api("/api/me", { token: other.session.token })).status).toBe(401);
      const me = (await c.api("/api/me", { token: user.token })).json as TMeResponse;
      expect(me.kdf.salt).toBe(next.body.kdf.salt);
      expect(me.keys.wrappedBoxKey).toBe(next.body.keys.wrappedBoxKey);
      expect(me.user.keysVersion).toBe(2);
      expect((await logIn(c.api, user.email, user.authKey)).status).toBe(401);
      expect((await logIn(c.api, user.email, next.authKey)).status).toBe(200);
    });

    it("recovers a lost password with the recovery kit: keys come back wrapped, every session ends", async () => {
      await stepUp(c.api, admin);
      const inv = (
        await c.api("/api/invites", { body: { email: "rec@example.test", role: "viewer" }, token: admin.token })
      ).json as { token: string };
      const recoveryAuthKey = b64u(randomBytes(32));
      const kit = {
        salt: b64u(randomBytes(16)),
        wrappedIdentityKey: b64u(randomBytes(81)),
        wrappedBoxKey: b64u(randomBytes(81)),
        authKey: recoveryAuthKey,
      };
      const { body } = signupBody("rec@example.test", { inviteToken: inv.token, recovery: kit });
      const signed = await c.api("/api/auth/signup", { body });
      expect(signed.status).toBe(201);
      const oldToken = (signed.json as { token: string }).token;
      // The kit's auth key is never served back.
      expect(JSON.stringify((await c.api("/api/me", { token: oldToken })).json)).not.toContain(recoveryAuthKey);

      const salt = (await c.api("/api/auth/recover/prelogin", { body: { email: "rec@example.test" } })).json as {
        salt: string;
      };
      expect(salt.salt).toBe(kit.salt);
      const fakeA = (await c.api("/api/auth/recover/prelogin", { body: { email: admin.email } })).json as {
        salt: string;
      };
      const fakeB = (await c.api("/api/auth/recover/prelogin", { body: { email: admin.email } })).json as {
        salt: string;
      };
      expect(fakeA).toEqual(fakeB);
      expect(fakeA.salt).toHaveLength(kit.salt.length);

      expect(
        (
          await c.api("/api/auth/recover/start", {
            body: { email: "rec@example.test", authKey: b64u(randomBytes(32)) },
          })
        ).status,
      ).toBe(401);
      expect(
        (await c.api("/api/auth/recover/start", { body: { email: admin.email, authKey: b64u(randomBytes(32)) } }))
          .status,
      ).toBe(401);
      const start = await c.api("/api/auth/recover/start", {
        body: { email: "rec@example.test", authKey: recoveryAuthKey },
      });
      expect(start.status).toBe(200);
      const started = start.json as { challenge: string; recovery: { wrappedBoxKey: string; salt: string } };
      expect(started.recovery).toMatchObject({ wrappedBoxKey: kit.wrappedBoxKey, salt: kit.salt });

      const next = signupBody("rec@example.test");
      // A recovery challenge is not a login challenge.
      expect(
        (await c.api("/api/auth/login/2fa", { body: { challenge: started.challenge, code: "123456" } })).status,
      ).toBe(401);
      const done = await c.api("/api/auth/recover/complete", {
        body: {
          challenge: started.challenge,
          kdf: next.body.kdf,
          authKey: next.authKey,
          wrappedIdentityKey: next.body.keys.wrappedIdentityKey,
          wrappedBoxKey: next.body.keys.wrappedBoxKey,
          recovery: null,
        },
      });
      expect(done.status).toBe(200);
      const again = await c.api("/api/auth/recover/complete", {
        body: {
          challenge: started.challenge,
          kdf: next.body.kdf,
          authKey: next.authKey,
          wrappedIdentityKey: next.body.keys.wrappedIdentityKey,
          wrappedBoxKey: next.body.keys.wrappedBoxKey,
          recovery: null,
        },
      });
      expect(again.status).toBe(401);
      expect((await c.api("/api/me", { token: oldToken })).status).toBe(401);
      expect((await logIn(c.api, "rec@example.test", next.authKey)).status).toBe(200);
      // The used kit was removed: it no longer opens anything.
      expect(
        (await c.api("/api/auth/recover/start", { body: { email: "rec@example.test", authKey: recoveryAuthKey } }))
          .status,
      ).toBe(401);
    });

    it("TOTP: set-up, confirm, log-in with a code (once), backup codes single-use under concurrency", async () => {
      const user = await invite(c.api, admin, "totp@example.test", "operator");
      expect((await c.api("/api/account/totp/setup", { body: {}, token: user.token })).status).toBe(401);
      await stepUp(c.api, user);
      const setup = await c.api("/api/account/totp/setup", { body: {}, token: user.token });
      expect(setup.status).toBe(200);
      const { secret, otpauthUri, qrDataUrl } = setup.json as { secret: string; otpauthUri: string; qrDataUrl: string };
      expect(otpauthUri).toMatch(/^otpauth:\/\/totp\//);
      expect(qrDataUrl).toMatch(/^data:image\/png;base64,/);
      const { Secret } = await import("otpauth");
      const secretBytes = new Uint8Array(Secret.fromBase32(secret).bytes);
      // The stored secret is encrypted, not the base32 text nor the raw bytes.
      const [row] = await c.running.database.db.select().from(users).where(eq(users.id, user.userId));
      expect(Buffer.from(row?.totpPendingEnc ?? []).includes(Buffer.from(secretBytes))).toBe(false);

      expect(
        (
          await c.api("/api/account/totp/confirm", {
            body: { code: "000000" === totpCode(secretBytes) ? "111111" : "000000" },
            token: user.token,
          })
        ).status,
      ).toBe(401);
      const confirmedAt = Date.now();
      const confirm = await c.api("/api/account/totp/confirm", {
        body: { code: totpCode(secretBytes, confirmedAt) },
        token: user.token,
      });
      expect(confirm.status).toBe(200);
      const { backupCodes } = confirm.json as { backupCodes: string[] };
      expect(backupCodes).toHaveLength(10);

      // Log-in now needs the second factor.
      const first = (await logIn(c.api, user.email, user.authKey)).json as Extract<
        TLoginResponse,
        { status: "two_factor_required" }
      >;
      expect(first.status).toBe("two_factor_required");
      // The code used to confirm was already accepted once: replay in the same step fails.
      const replay = await c.api("/api/auth/login/2fa", {
        body: { challenge: first.challenge, code: totpCode(secretBytes, confirmedAt) },
      });
      expect(replay.status).toBe(401);
      const next = await c.api("/api/auth/login/2fa", {
        body: { challenge: first.challenge, code: totpCode(secretBytes, confirmedAt + 30_000) },
      });
      expect(next.status).toBe(200);

      // The same backup code redeemed by 5 concurrent log-ins: exactly one session.
      const challenges = [];
      for (let i = 0; i < 5; i++)
        challenges.push(((await logIn(c.api, user.email, user.authKey)).json as { challenge: string }).challenge);
      const code = backupCodes[0] ?? "";
      const results = await Promise.all(
        challenges.map((challenge) => c.api("/api/auth/login/2fa", { body: { challenge, backupCode: code } })),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      // Challenges are stored hashed.
      const rows = await c.running.database.db
        .select()
        .from(loginChallenges)
        .where(eq(loginChallenges.userId, user.userId));
      for (const ch of challenges)
        expect(rows.some((r) => Buffer.from(r.challengeHash).toString("base64url") === ch)).toBe(false);
    });

    it("role changes are admin-only, need step-up and never remove the last admin", async () => {
      const viewer = await invite(c.api, admin, "viewer@example.test", "viewer");
      const denied = await c.api(`/api/users/${admin.userId}/role`, {
        method: "PUT",
        body: { role: "viewer" },
        token: viewer.token,
      });
      expect(denied.status).toBe(403);
      await stepUp(c.api, admin);
      const last = await c.api(`/api/users/${admin.userId}/role`, {
        method: "PUT",
        body: { role: "viewer" },
        token: admin.token,
      });
      expect(last.status).toBe(409);
      for (const id of [viewer.userId.toUpperCase(), "not-an-id"])
        expect(
          (await c.api(`/api/users/${id}/role`, { method: "PUT", body: { role: "auditor" }, token: admin.token }))
            .status,
        ).toBe(404);
      const ok = await c.api(`/api/users/${viewer.userId}/role`, {
        method: "PUT",
        body: { role: "auditor" },
        token: admin.token,
      });
      expect(ok.status).toBe(200);
      const audit = await c.api("/api/audit?action=role.change", { token: viewer.token });
      expect(audit.status).toBe(200);
      expect((audit.json as { entries: { details: Record<string, unknown> }[] }).entries[0]?.details).toMatchObject({
        from: "viewer",
        to: "auditor",
      });
    });

    it("records the audit events of issue 3 in a verifiable chain", async () => {
      const r = await c.api("/api/audit?limit=500", { token: admin.token });
      expect(r.status).toBe(200);
      const actions = new Set((r.json as { entries: { action: string }[] }).entries.map((e) => e.action));
      for (const a of [
        "account.signup",
        "login.success",
        "login.failure",
        "logout",
        "session.revoke",
        "2fa.setup_started",
        "2fa.enable",
        "2fa.backup_code_used",
        "login.2fa_failure",
        "role.change",
        "settings.idle_timeout",
        "permission.denied",
        "step_up",
        "password.change",
        "invite.create",
        "recovery.start",
        "recovery.complete",
        "recovery.failure",
      ]) {
        expect(actions, a).toContain(a);
      }
      const v = await c.api("/api/audit/verify", { token: admin.token });
      expect(v.json).toMatchObject({ ok: true });
      const filtered = (await c.api("/api/audit?outcome=failure&limit=5", { token: admin.token })).json as {
        entries: { outcome: string }[];
      };
      expect(filtered.entries.length).toBeGreaterThan(0);
      expect(filtered.entries.every((e) => e.outcome === "failure")).toBe(true);
      // Keyset pages: newest first, each page's `nextBefore` leads to the next older page, with no
      // entry repeated or skipped, down to the first entry.
      type Page = { entries: { seq: number }[]; nextBefore: number | null };
      const all = ((await c.api("/api/audit?limit=500", { token: admin.token })).json as Page).entries.map(
        (e) => e.seq,
      );
      expect(all.length).toBeGreaterThan(12);
      const paged: number[] = [];
      let before: number | null = null;
      do {
        const page = (
          await c.api(`/api/audit?limit=5${before === null ? "" : `&before=${before}`}`, { token: admin.token })
        ).json as Page;
        expect(page.entries.length).toBeLessThanOrEqual(5);
        paged.push(...page.entries.map((e) => e.seq));
        before = page.nextBefore;
      } while (before !== null && paged.length <= all.length);
      expect(paged).toEqual(all);
    });

    it("settings: retention is readable by auditors and changeable by admins with step-up", async () => {
      expect((await c.api("/api/settings", { token: admin.token })).json).toEqual({ auditRetentionDays: 90 });
      await stepUp(c.api, admin);
      const r = await c.api("/api/settings", { method: "PUT", body: { auditRetentionDays: 30 }, token: admin.token });
      expect(r.json).toEqual({ auditRetentionDays: 30 });
      expect(
        (await c.api("/api/settings", { method: "PUT", body: { auditRetentionDays: 0 }, token: admin.token })).status,
      ).toBe(400);
    });
  });
}
