import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  certifyBoxKey,
  derivePasswordKeys,
  deriveRecoveryCodeKeys,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  generateKdfParams,
  hashAuthKey as cryptoHashAuthKey,
  WRAP_PURPOSES,
  wrapKey,
  type AuthKey,
} from "@veil/crypto";
import type { TLoginResponse, TSessionIssued } from "@veil/protocol";
import { hashAuthKey } from "../src/server/auth/auth-key";
import { totpCode } from "../src/server/auth/totp";
import { DATABASE_URL, drivers, PG_SKIP_MESSAGE, startTestConsole, type TestConsole } from "./helpers/console";
import { dumpDatabase, forms } from "./helpers/database-dump";

const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");

it("the console's auth-key hash is byte-for-byte @veil/crypto's hashAuthKey", () => {
  const key = new Uint8Array(32).map((_, i) => i * 7);
  expect(Buffer.from(hashAuthKey(key))).toEqual(Buffer.from(cryptoHashAuthKey(key as AuthKey)));
});

for (const driver of drivers) {
  const skip = driver === "postgres" && !DATABASE_URL;
  if (skip) console.warn(`[console zero-knowledge] ${PG_SKIP_MESSAGE}`);

  describe.skipIf(skip)(`after sign-up, log-in and 2FA the ${driver} database holds no secret`, () => {
    let c: TestConsole;
    beforeAll(async () => {
      c = await startTestConsole({ driver });
    });
    afterAll(async () => {
      await c?.stop();
    });

    it("contains no password, recovery code, auth or wrap key, private key, session token, TOTP secret or backup code", async () => {
      const userId = crypto.randomUUID();
      const email = "zk@example.test";
      const password = "correct horse battery staple 42!";
      const params = generateKdfParams();
      const keys = await derivePasswordKeys(password, params, email);
      const identity = generateIdentityKeyPair();
      const box = generateBoxKeyPair();
      const recoveryCode = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
      const recoveryParams = generateKdfParams();
      const recoveryKeys = await deriveRecoveryCodeKeys(recoveryCode, recoveryParams, email);
      const cert = Buffer.from(
        JSON.stringify(
          certifyBoxKey(identity.privateKey, box.publicKey, {
            ownerKind: "account",
            ownerId: userId,
            purpose: "box",
            epoch: 0,
          }),
        ),
      );
      const signup = await c.api("/api/auth/signup", {
        body: {
          userId,
          email,
          kdf: {
            alg: "argon2id",
            memoryKiB: params.memoryKiB,
            iterations: params.iterations,
            parallelism: params.parallelism,
            salt: b64u(params.salt),
          },
          authKey: b64u(keys.authKey),
          keys: {
            identityPublicKey: b64u(identity.publicKey),
            boxPublicKey: b64u(box.publicKey),
            boxKeyCertificate: b64u(cert),
            wrappedIdentityKey: b64u(
              wrapKey(keys.wrapKey, identity.privateKey, {
                ownerId: userId,
                purpose: WRAP_PURPOSES.identityPrivateKey,
              }),
            ),
            wrappedBoxKey: b64u(
              wrapKey(keys.wrapKey, box.privateKey, { ownerId: userId, purpose: WRAP_PURPOSES.boxPrivateKey }),
            ),
          },
          recovery: {
            salt: b64u(recoveryParams.salt),
            wrappedIdentityKey: b64u(
              wrapKey(recoveryKeys.wrapKey, identity.privateKey, {
                ownerId: userId,
                purpose: WRAP_PURPOSES.identityPrivateKey,
              }),
            ),
            wrappedBoxKey: b64u(
              wrapKey(recoveryKeys.wrapKey, box.privateKey, { ownerId: userId, purpose: WRAP_PURPOSES.boxPrivateKey }),
            ),
            authKey: b64u(recoveryKeys.authKey),
          },
        },
      });
      expect(signup.status).toBe(201);
      const first = signup.json as TSessionIssued;
      const login = (await c.api("/api/auth/login", { body: { email, authKey: b64u(keys.authKey) } })).json as Extract<
        TLoginResponse,
        { status: "ok" }
      >;
      expect(login.status).toBe("ok");
      await c.api("/api/account/step-up", { body: { authKey: b64u(keys.authKey) }, token: login.session.token });
      const setup = (await c.api("/api/account/totp/setup", { body: {}, token: login.session.token })).json as {
        secret: string;
      };
      const { Secret } = await import("otpauth");
      const totpSecret = new Uint8Array(Secret.fromBase32(setup.secret).bytes);
      const confirm = (
        await c.api("/api/account/totp/confirm", { body: { code: totpCode(totpSecret) }, token: login.session.token })
      ).json as { backupCodes: string[] };
      const invite = (await c.api("/api/invites", { body: { role: "viewer" }, token: login.session.token })).json as {
        token: string;
      };

      const { tables, blob } = await dumpDatabase(c);
      expect(tables).toEqual(
        expect.arrayContaining([
          "users",
          "sessions",
          "backup_codes",
          "audit_log",
          "login_challenges",
          "invites",
          "settings",
          "account_lockouts",
          "audit_head",
        ]),
      );
      // Sanity: public material is there (so the scan does see the rows).
      expect(blob.includes(Buffer.from(identity.publicKey))).toBe(true);
      expect(blob.includes(Buffer.from(email))).toBe(true);

      const secrets: Record<string, Uint8Array | string> = {
        password,
        authKey: keys.authKey,
        wrapKey: keys.wrapKey,
        recoveryCode,
        recoveryAuthKey: recoveryKeys.authKey,
        recoveryWrapKey: recoveryKeys.wrapKey,
        identityPrivateKey: identity.privateKey,
        boxPrivateKey: box.privateKey,
        sessionToken1: Buffer.from(first.token, "base64url"),
        sessionToken2: Buffer.from(login.session.token, "base64url"),
        totpSecret,
        totpSecretBase32: setup.secret,
        inviteToken: Buffer.from(invite.token, "base64url"),
        ...Object.fromEntries(
          confirm.backupCodes.flatMap((code, i) => [
            [`backup${i}`, code],
            [`backup${i}n`, code.replaceAll("-", "")],
          ]),
        ),
      };
      for (const [name, secret] of Object.entries(secrets)) {
        for (const f of forms(secret)) expect(blob.includes(f), `${name} found in the database`).toBe(false);
      }
    });
  });
}
