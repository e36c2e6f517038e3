import { execFileSync } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instances } from "@veil/db";
import { generateIdentityKeyPair, hashAuthKey, signStatement, toBase64Url } from "@veil/crypto";
import {
  ADMIN_DELEGATION_DOMAIN,
  COMPANION_API_PREFIX,
  INSTANCE_CERTIFICATE_DOMAIN,
  PROTOCOL_VERSION,
  type TErrorBody,
  type TGrantListResponse,
  type TInstanceListResponse,
  type TInstanceResponse,
} from "@veil/protocol";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { stepUp } from "./helpers/accounts";
import { DATABASE_URL, drivers, PG_SKIP_MESSAGE, startTestConsole, type TestConsole } from "./helpers/console";
import {
  inviteKeyed,
  makeInstance,
  signGrantBundle,
  signUpKeyed,
  type BrowserMadeInstance,
  type KeyedAccount,
} from "./helpers/instances";

const code = (json: unknown) => (json as TErrorBody).error.code;
const REPO = path.resolve(import.meta.dirname, "..", "..", "..");

for (const driver of drivers) {
  const skip = driver === "postgres" && !DATABASE_URL;
  if (skip) console.warn(`[console instances] ${PG_SKIP_MESSAGE}`);

  describe.skipIf(skip)(`instances API (${driver})`, () => {
    let c: TestConsole;
    let admin: KeyedAccount;
    let viewer: KeyedAccount;
    let stranger: KeyedAccount;
    let inst: BrowserMadeInstance;
    const enroll = (id: string, authKey: string) =>
      c.api(`${COMPANION_API_PREFIX}/instances/${id}/enroll`, {
        body: { authKey, protocolVersion: PROTOCOL_VERSION, companionVersion: "0.1.0" },
      });

    beforeAll(async () => {
      // A roomy per-IP budget: every request of this file comes from 127.0.0.1.
      c = await startTestConsole({
        driver,
        rateLimits: { ...DEFAULT_RATE_LIMITS, login: { perIp: 1000, perAccount: 10, windowSeconds: 60 } },
      });
      admin = await signUpKeyed(c.api, "admin@example.test");
      viewer = await inviteKeyed(c.api, admin, "viewer@example.test", "viewer");
      stranger = await inviteKeyed(c.api, admin, "stranger@example.test", "operator");
      inst = await makeInstance(admin, "branch office");
    });
    afterAll(async () => {
      await c?.stop();
    });

    it("an admin adds an instance; the console checks the certificate, the KDF floor and the id", async () => {
      const forged = {
        ...inst.body,
        certificate: { ...inst.body.certificate, signerPublicKey: toBase64Url(generateIdentityKeyPair().publicKey) },
      };
      expect((await c.api("/api/instances", { body: forged, token: admin.token })).status).toBe(400);
      const other = signStatement(
        INSTANCE_CERTIFICATE_DOMAIN,
        {
          instanceId: randomUUID(),
          name: "x",
          identityPublicKey: inst.body.identityPublicKey,
          boxPublicKey: inst.body.boxPublicKey,
          issuedAt: 1,
        },
        admin.identity.privateKey,
      );
      const wrongBody = {
        ...inst.body,
        certificate: { ...inst.body.certificate, statement: other as typeof inst.body.certificate.statement },
      };
      expect((await c.api("/api/instances", { body: wrongBody, token: admin.token })).status).toBe(400);
      const weak = await c.api("/api/instances", {
        body: { ...inst.body, kdf: { ...inst.body.kdf, memoryKiB: 1024 } },
        token: admin.token,
      });
      expect(code(weak.json)).toBe("kdf_params_rejected");
      const byViewer = await c.api("/api/instances", { body: inst.body, token: viewer.token });
      expect(byViewer.status).toBe(403);

      const r = await c.api("/api/instances", { body: inst.body, token: admin.token });
      expect(r.status).toBe(201);
      const created = (r.json as TInstanceResponse).instance;
      expect(created).toMatchObject({
        id: inst.instanceId,
        name: "branch office",
        adminUserId: admin.userId,
        myRole: "admin",
        revokedAt: null,
        presence: { online: false },
      });
      expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(409);
    });

    it("lists instances to admins and to grant holders only", async () => {
      const all = (await c.api("/api/instances", { token: admin.token })).json as TInstanceListResponse;
      expect(all.instances.map((i) => i.id)).toEqual([inst.instanceId]);
      expect(
        ((await c.api("/api/instances", { token: viewer.token })).json as TInstanceListResponse).instances,
      ).toEqual([]);
      expect((await c.api(`/api/instances/${inst.instanceId}`, { token: viewer.token })).status).toBe(404);
      expect((await c.api(`/api/instances/${inst.instanceId}/grants`, { token: viewer.token })).status).toBe(404);

      const expiresAt = Date.now() + 3600_000;
      const bundle = signGrantBundle(admin, viewer, inst.instanceId, "viewer", expiresAt);
      const lying = await c.api(`/api/instances/${inst.instanceId}/grants`, {
        body: { accountId: viewer.userId, role: "admin", expiresAt, bundle },
        token: admin.token,
      });
      expect(lying.status).toBe(400);
      const byStranger = await c.api(`/api/instances/${inst.instanceId}/grants`, {
        body: { accountId: stranger.userId, role: "viewer", expiresAt, bundle },
        token: stranger.token,
      });
      expect(byStranger.status).toBe(403);
      const granted = await c.api(`/api/instances/${inst.instanceId}/grants`, {
        body: { accountId: viewer.userId, role: "viewer", expiresAt, bundle },
        token: admin.token,
      });
      expect(granted.status).toBe(201);

      const mine = ((await c.api("/api/instances", { token: viewer.token })).json as TInstanceListResponse).instances;
      expect(mine.map((i) => [i.id, i.myRole])).toEqual([[inst.instanceId, "viewer"]]);
      const grants = (
        (await c.api(`/api/instances/${inst.instanceId}/grants`, { token: viewer.token })).json as TGrantListResponse
      ).grants;
      expect(grants).toHaveLength(1);
      expect(grants[0]?.bundle).toEqual(bundle);
      expect(
        ((await c.api("/api/instances", { token: stranger.token })).json as TInstanceListResponse).instances,
      ).toEqual([]);
    });

    it("stores an admin delegation with an admin grant and serves it back; refuses one that does not match", async () => {
      const expiresAt = Date.now() + 3600_000;
      const delegationFor = (account: KeyedAccount, instance = inst.instanceId) =>
        signStatement(
          ADMIN_DELEGATION_DOMAIN,
          {
            instanceId: instance,
            adminAccountId: account.userId,
            adminIdentityPublicKey: toBase64Url(account.identity.publicKey),
            issuedAt: Date.now(),
            expiresAt,
          },
          admin.identity.privateKey,
        );
      const post = (body: object) => c.api(`/api/instances/${inst.instanceId}/grants`, { body, token: admin.token });
      const adminBundle = signGrantBundle(admin, stranger, inst.instanceId, "admin", expiresAt);
      // Only with an admin grant, and only naming that grant's account, key and instance.
      const viewerBundle = signGrantBundle(admin, stranger, inst.instanceId, "viewer", expiresAt);
      const refused = [
        {
          accountId: stranger.userId,
          role: "viewer",
          expiresAt,
          bundle: viewerBundle,
          delegation: delegationFor(stranger),
        },
        {
          accountId: stranger.userId,
          role: "admin",
          expiresAt,
          bundle: adminBundle,
          delegation: delegationFor(viewer),
        },
        {
          accountId: stranger.userId,
          role: "admin",
          expiresAt,
          bundle: adminBundle,
          delegation: delegationFor(stranger, randomUUID()),
        },
      ];
      for (const body of refused) expect((await post(body)).status).toBe(400);
      const delegation = delegationFor(stranger);
      expect(
        (await post({ accountId: stranger.userId, role: "admin", expiresAt, bundle: adminBundle, delegation })).status,
      ).toBe(201);
      const listed = (
        (await c.api(`/api/instances/${inst.instanceId}/grants`, { token: admin.token })).json as TGrantListResponse
      ).grants;
      expect(listed.find((g) => g.accountId === stranger.userId)?.delegation).toEqual(delegation);
      expect(listed.find((g) => g.accountId === viewer.userId)?.delegation).toBeNull();
    });

    it("serves the console URL and the SPKI pin for the enrollment line (admins only)", async () => {
      const r = await c.api("/api/companion-info", { token: admin.token });
      expect(r.json).toEqual({
        consoleUrl: `https://localhost:${c.running.httpsPort}`,
        consolePin: c.running.certificate.spkiPin,
        installScriptPath: "/install.sh",
      });
      expect((await c.api("/api/companion-info", { token: viewer.token })).status).toBe(403);
    });

    it("companion endpoints: KDF (fake for unknown ids), enroll with the auth key only, atomic rotate", async () => {
      const kdf = await c.api(`${COMPANION_API_PREFIX}/instances/${inst.instanceId}/kdf`);
      expect(kdf.json).toEqual({ kdf: inst.body.kdf });
      const unknown = randomUUID();
      const fake1 = await c.api(`${COMPANION_API_PREFIX}/instances/${unknown}/kdf`);
      const fake2 = await c.api(`${COMPANION_API_PREFIX}/instances/${unknown}/kdf`);
      expect(fake1.status).toBe(200);
      expect(fake1.json).toEqual(fake2.json);

      expect((await enroll(inst.instanceId, toBase64Url(randomBytes(32)))).status).toBe(401);
      expect((await enroll(unknown, inst.body.authKey)).status).toBe(401);
      const ok = await enroll(inst.instanceId, inst.body.authKey);
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({
        wrappedIdentityPrivateKey: inst.body.wrappedIdentityPrivateKey,
        wrappedBoxPrivateKey: inst.body.wrappedBoxPrivateKey,
        certificate: inst.body.certificate,
      });

      const nextAuthKey = randomBytes(32);
      const next = {
        kdf: { ...inst.body.kdf, salt: toBase64Url(randomBytes(16)) },
        authKeyHash: toBase64Url(hashAuthKey(new Uint8Array(nextAuthKey) as Parameters<typeof hashAuthKey>[0])),
        wrappedIdentityPrivateKey: toBase64Url(randomBytes(74)),
        wrappedBoxPrivateKey: toBase64Url(randomBytes(74)),
      };
      const rotate = (authKey: string, body = next) =>
        c.api(`${COMPANION_API_PREFIX}/instances/${inst.instanceId}/rotate`, { body: { authKey, next: body } });
      expect((await rotate(toBase64Url(randomBytes(32)))).status).toBe(401);
      const weak = await rotate(inst.body.authKey, { ...next, kdf: { ...next.kdf, iterations: 1 } });
      expect(weak.status).toBe(400);
      expect(code(weak.json)).toBe("kdf_params_rejected");
      expect((await rotate(inst.body.authKey)).status).toBe(200);
      // The old key is dead, the new one works, and the new material is served.
      expect((await rotate(inst.body.authKey)).status).toBe(401);
      expect((await enroll(inst.instanceId, inst.body.authKey)).status).toBe(401);
      const after = await enroll(inst.instanceId, toBase64Url(nextAuthKey));
      expect(after.json).toMatchObject({
        wrappedIdentityPrivateKey: next.wrappedIdentityPrivateKey,
        wrappedBoxPrivateKey: next.wrappedBoxPrivateKey,
      });
      expect((await c.api(`${COMPANION_API_PREFIX}/instances/${inst.instanceId}/kdf`)).json).toEqual({ kdf: next.kdf });
      const [row] = await c.running.database.db.select().from(instances).where(eq(instances.id, inst.instanceId));
      expect(row?.tokenVersion).toBe(2);
      expect(row?.rotatedAt).not.toBeNull();
    });

    it("failed companion attempts are rate-limited per instance, and never lock out the right key", async () => {
      const target = await makeInstance(admin, "guessed at");
      expect((await c.api("/api/instances", { body: target.body, token: admin.token })).status).toBe(201);
      // Anyone who knows the id: reading its KDF params spends nothing of the instance's budget.
      const kdf: number[] = [];
      for (let i = 0; i < 12; i++)
        kdf.push((await c.api(`${COMPANION_API_PREFIX}/instances/${target.instanceId}/kdf`)).status);
      expect(kdf.every((s) => s === 200)).toBe(true);
      // Wrong keys: refused, and once the instance's budget of failures is spent, rate-limited.
      const wrong: number[] = [];
      for (let i = 0; i < 12; i++) wrong.push((await enroll(target.instanceId, toBase64Url(randomBytes(32)))).status);
      expect(wrong.slice(0, 10).every((s) => s === 401)).toBe(true);
      expect(wrong.slice(10)).toEqual([429, 429]);
      // The companion, holding the right key, still enrolls.
      expect((await enroll(target.instanceId, target.body.authKey)).status).toBe(200);
    });

    it("revoking one grant (admin, step-up) drops it from the list, is audited, and the account loses the instance", async () => {
      const target = await makeInstance(admin, "grant revocation");
      expect((await c.api("/api/instances", { body: target.body, token: admin.token })).status).toBe(201);
      const expiresAt = Date.now() + 3600_000;
      const bundle = signGrantBundle(admin, viewer, target.instanceId, "viewer", expiresAt);
      const granted = await c.api(`/api/instances/${target.instanceId}/grants`, {
        body: { accountId: viewer.userId, role: "viewer", expiresAt, bundle },
        token: admin.token,
      });
      expect(granted.status).toBe(201);
      const revoke = (token: string, body: object = { accountId: viewer.userId }) =>
        c.api(`/api/instances/${target.instanceId}/grants/revoke`, { body, token });
      expect((await revoke(viewer.token)).status).toBe(403);
      const admin3 = await inviteKeyed(c.api, admin, "admin3@example.test", "admin");
      expect(code((await revoke(admin3.token)).json)).toBe("step_up_required");
      await stepUp(c.api, admin);
      expect((await revoke(admin.token, { accountId: viewer.userId, extra: 1 })).status).toBe(400);
      expect((await revoke(admin.token)).status).toBe(200);
      expect((await revoke(admin.token)).status).toBe(404);
      const listed = (
        (await c.api(`/api/instances/${target.instanceId}/grants`, { token: admin.token })).json as TGrantListResponse
      ).grants;
      expect(listed.some((g) => g.accountId === viewer.userId)).toBe(false);
      expect((await c.api(`/api/instances/${target.instanceId}`, { token: viewer.token })).status).toBe(404);
      const log = (await c.api("/api/audit?action=instance.grant.revoke", { token: admin.token })).json as {
        entries: { action: string; details: Record<string, unknown> }[];
      };
      expect(log.entries.find((e) => e.action === "instance.grant.revoke")?.details).toMatchObject({
        accountId: viewer.userId,
        role: "viewer",
      });
    });

    it("revocation needs step-up, is final, and refuses enrollment", async () => {
      const other = await makeInstance(admin, "to revoke");
      expect((await c.api("/api/instances", { body: other.body, token: admin.token })).status).toBe(201);
      expect((await c.api(`/api/instances/${other.instanceId}/revoke`, { body: {}, token: viewer.token })).status).toBe(
        403,
      );
      const admin2 = await inviteKeyed(c.api, admin, "admin2@example.test", "admin");
      expect(
        code((await c.api(`/api/instances/${other.instanceId}/revoke`, { body: {}, token: admin2.token })).json),
      ).toBe("step_up_required");
      await stepUp(c.api, admin);
      expect((await c.api(`/api/instances/${other.instanceId}/revoke`, { body: {}, token: admin.token })).status).toBe(
        200,
      );
      const got = (await c.api(`/api/instances/${other.instanceId}`, { token: admin.token })).json as TInstanceResponse;
      expect(got.instance.revokedAt).not.toBeNull();
      expect((await enroll(other.instanceId, other.body.authKey)).status).toBe(401);
      const grant = await c.api(`/api/instances/${other.instanceId}/grants`, {
        body: {
          accountId: viewer.userId,
          role: "viewer",
          expiresAt: Date.now() + 60_000,
          bundle: signGrantBundle(admin, viewer, other.instanceId, "viewer", Date.now() + 60_000),
        },
        token: admin.token,
      });
      expect(code(grant.json)).toBe("instance_revoked");
    });

    it("serves the install script, the unit and the companion bundle with its checksum", async () => {
      const script = await c.api("/install.sh");
      expect(script.status).toBe(200);
      expect(script.text).toBe(readFileSync(path.join(REPO, "infra", "install.sh"), "utf8"));
      const unit = await c.api("/companion/veil-companion.service");
      expect(unit.text).toBe(readFileSync(path.join(REPO, "infra", "veil-companion.service"), "utf8"));
      expect((await c.api("/install.sh", { method: "POST", body: {} })).status).toBe(405);
      // The bundle as `npm start` builds it (build.mjs replaces it whole, so a concurrent build in
      // another test file is safe).
      execFileSync(process.execPath, ["build.mjs"], { cwd: path.join(REPO, "apps", "companion"), stdio: "ignore" });
      const bundle = await c.api("/companion/veil-companion.mjs");
      const sum = await c.api("/companion/veil-companion.mjs.sha256");
      expect(bundle.status).toBe(200);
      expect(sum.status).toBe(200);
      expect(bundle.text.length).toBeGreaterThan(100_000);
      expect(sum.text.split(/\s+/)[0]).toBe(createHash("sha256").update(bundle.text, "utf8").digest("hex"));
    });

    // Last: it spends this address's log-in budget for the rest of the minute.
    it("a companion with the right key enrolls even when its address has spent its log-in budget", async () => {
      const target = await makeInstance(admin, "shared address");
      expect((await c.api("/api/instances", { body: target.body, token: admin.token })).status).toBe(201);
      // Others at the site's address (users logging in, a LAN host guessing) spent it all.
      for (const ip of ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
        for (let i = 0; i < 1_001; i++) c.running.services.limiter.consume("login", ip);
      expect((await enroll(target.instanceId, toBase64Url(randomBytes(32)))).status).toBe(429);
      expect((await c.api(`${COMPANION_API_PREFIX}/instances/${target.instanceId}/kdf`)).status).toBe(200);
      expect((await enroll(target.instanceId, target.body.authKey)).status).toBe(200);
    });
  });
}
