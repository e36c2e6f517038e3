import { randomBytes, randomUUID } from "node:crypto";
import type { TSessionIssued } from "@veil/protocol";
import type { Client } from "./http";

const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");

export interface TestAccount {
  readonly userId: string;
  readonly email: string;
  readonly authKey: string;
  token: string;
  readonly session: TSessionIssued;
}

/** A sign-up body with random (but well-formed) key material; no Argon2id needed server-side. */
export function signupBody(email: string, extra: Record<string, unknown> = {}) {
  const userId = randomUUID();
  const authKey = b64u(randomBytes(32));
  return {
    userId,
    authKey,
    body: {
      userId,
      email,
      kdf: { alg: "argon2id", memoryKiB: 65536, iterations: 3, parallelism: 1, salt: b64u(randomBytes(16)) },
      authKey,
      keys: {
        identityPublicKey: b64u(randomBytes(32)),
        boxPublicKey: b64u(randomBytes(32)),
        boxKeyCertificate: b64u(randomBytes(64)),
        wrappedIdentityKey: b64u(randomBytes(81)),
        wrappedBoxKey: b64u(randomBytes(81)),
      },
      ...extra,
    },
  };
}

export async function signUp(api: Client, email: string, inviteToken?: string): Promise<TestAccount> {
  const { userId, authKey, body } = signupBody(email, inviteToken ? { inviteToken } : {});
  const r = await api("/api/auth/signup", { body });
  if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${r.text}`);
  const session = r.json as TSessionIssued;
  return { userId, email, authKey, token: session.token, session };
}

export async function stepUp(api: Client, account: TestAccount): Promise<void> {
  const r = await api("/api/account/step-up", { body: { authKey: account.authKey }, token: account.token });
  if (r.status !== 200) throw new Error(`step-up failed: ${r.status} ${r.text}`);
}

/** Admin invites `email` with `role`; the invitee signs up with the token. */
export async function invite(api: Client, admin: TestAccount, email: string, role: string): Promise<TestAccount> {
  await stepUp(api, admin);
  const r = await api("/api/invites", { body: { email, role }, token: admin.token });
  if (r.status !== 201) throw new Error(`invite failed: ${r.status} ${r.text}`);
  return signUp(api, email, (r.json as { token: string }).token);
}

export async function logIn(api: Client, email: string, authKey: string) {
  return api("/api/auth/login", { body: { email, authKey } });
}

/** A new session of `account` (a password log-in without a second factor); throws when refused. */
export async function logInSession(api: Client, account: TestAccount): Promise<TSessionIssued> {
  const r = await logIn(api, account.email, account.authKey);
  if (r.status !== 200) throw new Error(`log-in failed: ${r.status} ${r.text}`);
  return (r.json as { session: TSessionIssued }).session;
}
