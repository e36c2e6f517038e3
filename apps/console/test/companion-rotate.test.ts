import { randomBytes } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, instances, verifyAuditChain } from "@veil/db";
import { hashAuthKey, toBase64Url } from "@veil/crypto";
import { COMPANION_API_PREFIX, PROTOCOL_VERSION } from "@veil/protocol";
import { DATABASE_URL, drivers, PG_SKIP_MESSAGE, startTestConsole, type TestConsole } from "./helpers/console";
import { makeInstance, signUpKeyed, type BrowserMadeInstance, type KeyedAccount } from "./helpers/instances";

// POST …/rotate when the audit record cannot be written: the companion acts on the answer (a 5xx
// keeps its old key beside the new one), so a 5xx must mean "nothing changed".
for (const driver of drivers) {
  const skip = driver === "postgres" && !DATABASE_URL;
  if (skip) console.warn(`[console companion rotate] ${PG_SKIP_MESSAGE}`);

  describe.skipIf(skip)(`companion token rotation and its audit record (${driver})`, () => {
    let c: TestConsole;
    let admin: KeyedAccount;
    let inst: BrowserMadeInstance;

    beforeAll(async () => {
      c = await startTestConsole({ driver });
      admin = await signUpKeyed(c.api, "admin@example.test");
      inst = await makeInstance(admin, "rotating site");
      expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    });
    afterAll(async () => {
      await c?.stop();
    });

    const enroll = (authKey: string) =>
      c.api(`${COMPANION_API_PREFIX}/instances/${inst.instanceId}/enroll`, {
        body: { authKey, protocolVersion: PROTOCOL_VERSION, companionVersion: "0.1.0" },
      });
    const nextMaterial = () => {
      const authKey = randomBytes(32);
      return {
        authKey: toBase64Url(authKey),
        next: {
          kdf: { ...inst.body.kdf, salt: toBase64Url(randomBytes(16)) },
          authKeyHash: toBase64Url(hashAuthKey(new Uint8Array(authKey) as Parameters<typeof hashAuthKey>[0])),
          wrappedIdentityPrivateKey: toBase64Url(randomBytes(74)),
          wrappedBoxPrivateKey: toBase64Url(randomBytes(74)),
        },
      };
    };
    const rotate = (authKey: string, next: ReturnType<typeof nextMaterial>["next"]) =>
      c.api(`${COMPANION_API_PREFIX}/instances/${inst.instanceId}/rotate`, { body: { authKey, next } });
    const rotationRecords = async () =>
      (
        await c.running.database.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.action, "companion.rotate"), eq(auditLog.outcome, "success")))
      ).length;

    it("a rotation whose success record cannot be written is rolled back: a 5xx never follows a committed swap", async () => {
      const db = c.running.database.db;
      await db.execute(
        sql.raw(`CREATE FUNCTION test_refuse_rotate_audit() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'audit store unavailable (test)'; END $$`),
      );
      await db.execute(
        sql.raw(`CREATE TRIGGER test_refuse_rotate_audit BEFORE INSERT ON audit_log FOR EACH ROW
          WHEN (NEW.action = 'companion.rotate' AND NEW.outcome = 'success') EXECUTE FUNCTION test_refuse_rotate_audit()`),
      );
      const lost = nextMaterial();
      let failed: Awaited<ReturnType<typeof rotate>>;
      try {
        failed = await rotate(inst.body.authKey, lost.next);
      } finally {
        await db.execute(sql.raw("DROP TRIGGER test_refuse_rotate_audit ON audit_log"));
        await db.execute(sql.raw("DROP FUNCTION test_refuse_rotate_audit()"));
      }
      expect(failed.status).toBe(500);
      // What the companion observes: the key it still holds works, the one it recorded does not.
      expect((await enroll(inst.body.authKey)).status).toBe(200);
      expect((await enroll(lost.authKey)).status).toBe(401);
      const [row] = await db.select().from(instances).where(eq(instances.id, inst.instanceId));
      expect(row?.tokenVersion).toBe(1);
      expect(row?.rotatedAt).toBeNull();
      expect(await rotationRecords()).toBe(0);

      // With the audit store back, the same rotation commits with its record, and the chain holds.
      const ok = nextMaterial();
      expect((await rotate(inst.body.authKey, ok.next)).status).toBe(200);
      expect((await enroll(ok.authKey)).status).toBe(200);
      expect((await enroll(inst.body.authKey)).status).toBe(401);
      expect(await rotationRecords()).toBe(1);
      expect((await verifyAuditChain(db)).ok).toBe(true);
    });
  });
}
