import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, type Role } from "@veil/db";
import { ROUTES } from "../src/server/api/routes";
import { invite, signUp, type TestAccount } from "./helpers/accounts";
import { startTestConsole, type TestConsole } from "./helpers/console";

/**
 * The authorization matrix: every session route of the route table, for every role. A role
 * outside the route's list gets 403 before its body is even parsed; an allowed role gets past
 * the role check (the deliberately invalid body then answers 400, so nothing changes).
 */
describe("authorization matrix over every API route and role (PGlite)", () => {
  let c: TestConsole;
  const accounts = {} as Record<Role, TestAccount>;

  beforeAll(async () => {
    c = await startTestConsole();
    accounts.admin = await signUp(c.api, "admin@example.test");
    for (const role of ROLES.filter((r) => r !== "admin"))
      accounts[role] = await invite(c.api, accounts.admin, `${role}@example.test`, role);
  });
  afterAll(async () => {
    await c?.stop();
  });

  const sessionRoutes = ROUTES.filter((r) => r.auth === "session");

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
    it(`${route.method} ${route.path}: ${route.roles ? route.roles.join(", ") : "every role"}`, async () => {
      const path = route.path.replace(":id", "00000000-0000-4000-8000-000000000000");
      const body = route.method === "GET" || route.method === "DELETE" ? undefined : { matrixProbe: true };
      const anonymous = await c.api(path, { method: route.method, ...(body ? { body } : {}) });
      expect(anonymous.status, "without a session").toBe(401);
      for (const role of ROLES) {
        const r = await c.api(path, { method: route.method, token: accounts[role].token, ...(body ? { body } : {}) });
        const allowed = !route.roles || route.roles.includes(role);
        if (allowed) {
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

  it("audits permission-denied events", async () => {
    const r = await c.api("/api/audit?action=permission.denied&limit=500", { token: accounts.admin.token });
    const entries = (r.json as { entries: { actorEmail: string }[] }).entries;
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.some((e) => e.actorEmail === "viewer@example.test")).toBe(true);
  });
});
