import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, type Role } from "@veil/db";
import type { TLoginResponse } from "@veil/protocol";
import { ROUTES } from "../src/server/api/routes";
import { invite, logIn, signUp, type TestAccount } from "./helpers/accounts";
import { startTestConsole, type TestConsole } from "./helpers/console";

const EVERY_ROLE = "every role";
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

/**
 * The access policy, written out here on purpose rather than read from the route table it
 * checks: widening a route's roles, dropping its step-up or adding a session route fails this
 * file until the policy below is changed too, in the same review.
 */
const POLICY: Readonly<Record<string, { roles: readonly Role[] | typeof EVERY_ROLE; stepUp: boolean }>> = {
  "POST /api/auth/logout": { roles: EVERY_ROLE, stepUp: false },
  "GET /api/me": { roles: EVERY_ROLE, stepUp: false },
  "GET /api/sessions": { roles: EVERY_ROLE, stepUp: false },
  "DELETE /api/sessions/:id": { roles: EVERY_ROLE, stepUp: false },
  "PUT /api/account/idle-timeout": { roles: EVERY_ROLE, stepUp: true },
  "POST /api/account/step-up": { roles: EVERY_ROLE, stepUp: false },
  // Proves the current auth key in its own body instead of a step-up.
  "POST /api/account/password": { roles: EVERY_ROLE, stepUp: false },
  "POST /api/account/totp/setup": { roles: EVERY_ROLE, stepUp: true },
  // Proves a code from the secret that set-up (behind step-up) handed out.
  "POST /api/account/totp/confirm": { roles: EVERY_ROLE, stepUp: false },
  "POST /api/account/totp/disable": { roles: EVERY_ROLE, stepUp: true },
  "POST /api/account/backup-codes": { roles: EVERY_ROLE, stepUp: true },
  "GET /api/users": { roles: ["admin"], stepUp: false },
  "POST /api/invites": { roles: ["admin"], stepUp: true },
  "PUT /api/users/:id/role": { roles: ["admin"], stepUp: true },
  "GET /api/audit": { roles: ["admin", "auditor"], stepUp: false },
  "GET /api/audit/verify": { roles: ["admin", "auditor"], stepUp: false },
  "GET /api/settings": { roles: ["admin", "auditor"], stepUp: false },
  "PUT /api/settings": { roles: ["admin"], stepUp: true },
  "GET /api/instances": { roles: EVERY_ROLE, stepUp: false },
  "POST /api/instances": { roles: ["admin"], stepUp: false },
  "GET /api/instances/:id": { roles: EVERY_ROLE, stepUp: false },
  "POST /api/instances/:id/revoke": { roles: ["admin"], stepUp: true },
  "POST /api/instances/:id/grants": { roles: ["admin"], stepUp: false },
  "POST /api/instances/:id/grants/revoke": { roles: ["admin"], stepUp: true },
  "GET /api/instances/:id/grants": { roles: EVERY_ROLE, stepUp: false },
  "GET /api/instances/:id/snapshot": { roles: EVERY_ROLE, stepUp: false },
  "GET /api/companion-info": { roles: ["admin"], stepUp: false },
};

/**
 * A body each step-up route accepts (null: the route takes none), so that the probe gets past
 * validation to the step-up check, which comes after it. The check refuses before the handler
 * runs, so nothing is changed.
 */
const VALID_BODIES: Readonly<Record<string, object | null>> = {
  "PUT /api/account/idle-timeout": { seconds: 3600 },
  "POST /api/account/totp/setup": {},
  "POST /api/account/totp/disable": {},
  "POST /api/account/backup-codes": {},
  "POST /api/invites": { role: "viewer" },
  "PUT /api/users/:id/role": { role: "viewer" },
  "PUT /api/settings": { auditRetentionDays: 90 },
  "POST /api/instances/:id/revoke": null,
  "POST /api/instances/:id/grants/revoke": { accountId: UNKNOWN_ID },
};

const allowedRoles = (key: string): readonly Role[] => {
  const roles = POLICY[key]?.roles ?? [];
  return roles === EVERY_ROLE ? ROLES : roles;
};

/**
 * The authorization matrix: every session route of the route table, for every role, against
 * the policy above. A role outside the route's list gets 403 before its body is even parsed; an
 * allowed role gets past the role check (the deliberately invalid body then answers 400, so
 * nothing changes). Every step-up route, sent a valid body from a session that has not stepped
 * up, answers step_up_required for every allowed role.
 */
describe("authorization matrix over every API route and role (PGlite)", () => {
  let c: TestConsole;
  const accounts = {} as Record<Role, TestAccount>;
  /** A second session per role that has never stepped up (invite() steps the admin's first up). */
  const unproven = {} as Record<Role, string>;

  beforeAll(async () => {
    // This file tests who may call what, not rate limits (abuse.test.ts): generous limits.
    const generous = { perIp: 10_000, perAccount: 10_000, windowSeconds: 60 };
    c = await startTestConsole({
      rateLimits: { login: generous, signup: generous, twoFactor: generous, apiRead: generous, apiWrite: generous },
    });
    accounts.admin = await signUp(c.api, "admin@example.test");
    for (const role of ROLES.filter((r) => r !== "admin"))
      accounts[role] = await invite(c.api, accounts.admin, `${role}@example.test`, role);
    for (const role of ROLES) {
      const r = (await logIn(c.api, accounts[role].email, accounts[role].authKey)).json as Extract<
        TLoginResponse,
        { status: "ok" }
      >;
      unproven[role] = r.session.token;
    }
  });
  afterAll(async () => {
    await c?.stop();
  });

  const sessionRoutes = ROUTES.filter((r) => r.auth === "session");
  const keyOf = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

  it("the route table matches the written policy: roles and step-up, route by route", () => {
    expect(sessionRoutes.map(keyOf).sort()).toEqual(Object.keys(POLICY).sort());
    for (const route of sessionRoutes) {
      const key = keyOf(route);
      expect(route.roles ? [...route.roles].sort() : EVERY_ROLE, `${key} roles`).toEqual(
        POLICY[key]?.roles === EVERY_ROLE ? EVERY_ROLE : [...(POLICY[key]?.roles ?? [])].sort(),
      );
      expect(Boolean(route.stepUp), `${key} step-up`).toBe(POLICY[key]?.stepUp);
    }
    const stepUpRoutes = Object.keys(POLICY).filter((k) => POLICY[k]?.stepUp);
    expect(Object.keys(VALID_BODIES).sort(), "a valid probe body for every step-up route").toEqual(stepUpRoutes.sort());
  });

  it("every route needs a session except the listed public ones", () => {
    // A route that becomes public, or a new public route, fails here until it is listed on purpose.
    const publicRoutes = ROUTES.filter((r) => r.auth !== "session").map((r) => `${r.method} ${r.path}`);
    expect(publicRoutes.sort()).toEqual(
      [
        "GET /api/health",
        "POST /api/auth/prelogin",
        "POST /api/auth/signup",
        "POST /api/auth/login",
        "POST /api/auth/login/2fa",
        "POST /api/auth/recover/prelogin",
        "POST /api/auth/recover/start",
        "POST /api/auth/recover/complete",
        "GET /api/companion/v1/instances/:id/kdf",
        "POST /api/companion/v1/instances/:id/enroll",
        "POST /api/companion/v1/instances/:id/rotate",
      ].sort(),
    );
    expect(sessionRoutes.length).toBe(ROUTES.length - publicRoutes.length);
    expect(sessionRoutes.length).toBeGreaterThan(25);
  });

  for (const route of sessionRoutes) {
    const key = keyOf(route);
    const allowed = allowedRoles(key);
    it(`${key}: ${POLICY[key]?.roles === EVERY_ROLE ? EVERY_ROLE : allowed.join(", ")}`, async () => {
      const path = route.path.replace(":id", UNKNOWN_ID);
      const body = route.method === "GET" || route.method === "DELETE" ? undefined : { matrixProbe: true };
      const anonymous = await c.api(path, { method: route.method, ...(body ? { body } : {}) });
      expect(anonymous.status, "without a session").toBe(401);
      for (const role of ROLES) {
        const r = await c.api(path, { method: route.method, token: accounts[role].token, ...(body ? { body } : {}) });
        if (allowed.includes(role)) {
          // Past the role check, and handled: the probe body fails the route's strict schema
          // (400), a route without a body answers for the unknown id (404) or at once (200).
          // Never 401/403, and never a crash.
          const expected = route.body ? 400 : route.path.includes(":id") ? 404 : 200;
          expect(r.status, `${role} should pass the role check`).toBe(expected);
          if (expected === 400) expect(r.json).toMatchObject({ error: { code: "validation_failed" } });
          if (expected === 404) expect(r.json).toMatchObject({ error: { code: "not_found" } });
        } else {
          expect(r.status, `${role} must be refused`).toBe(403);
          expect(r.json).toMatchObject({ error: { code: "forbidden" } });
        }
      }
    });
  }

  for (const [key, validBody] of Object.entries(VALID_BODIES)) {
    it(`${key}: a valid request without a fresh step-up is refused for every allowed role`, async () => {
      const [method = "", path = ""] = key.split(" ");
      for (const role of allowedRoles(key)) {
        const r = await c.api(path.replace(":id", UNKNOWN_ID), {
          method,
          token: unproven[role],
          ...(validBody ? { body: validBody } : {}),
        });
        expect(r.status, `${role} without step-up`).toBe(401);
        expect(r.json).toMatchObject({ error: { code: "step_up_required" } });
      }
    });
  }

  it("audits permission-denied events", async () => {
    const r = await c.api("/api/audit?action=permission.denied&limit=500", { token: accounts.admin.token });
    const entries = (r.json as { entries: { actorEmail: string }[] }).entries;
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.some((e) => e.actorEmail === "viewer@example.test")).toBe(true);
  });
});
