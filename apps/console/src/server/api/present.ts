import type { TAccountKeys, TKdfParams, TRecoveryKit, TSessionIssued, TUserSummary } from "@veil/protocol";
import { b64u } from "../auth/bytes";
import type { SessionRow, UserRow } from "../auth/sessions";

export function userSummary(u: UserRow): TUserSummary {
  return {
    id: u.id,
    email: u.email,
    role: u.role,
    totpEnabled: u.totpEnabledAt !== null,
    createdAt: u.createdAt.toISOString(),
  };
}

export function kdfWire(u: Pick<UserRow, "kdfParams" | "kdfSalt">): TKdfParams {
  const p = u.kdfParams;
  return {
    alg: "argon2id",
    memoryKiB: p.memoryKiB,
    iterations: p.iterations,
    parallelism: p.parallelism,
    salt: b64u(u.kdfSalt),
  };
}

export function keysWire(u: UserRow): TAccountKeys {
  return {
    identityPublicKey: b64u(u.identityPublicKey),
    boxPublicKey: b64u(u.boxPublicKey),
    boxKeyCertificate: b64u(u.boxKeyCertificate),
    wrappedIdentityKey: b64u(u.wrappedIdentityKey),
    wrappedBoxKey: b64u(u.wrappedBoxKey),
  };
}

export function recoveryWire(u: UserRow): TRecoveryKit | null {
  if (!u.recoverySalt || !u.recoveryWrappedIdentityKey || !u.recoveryWrappedBoxKey) return null;
  return {
    salt: b64u(u.recoverySalt),
    wrappedIdentityKey: b64u(u.recoveryWrappedIdentityKey),
    wrappedBoxKey: b64u(u.recoveryWrappedBoxKey),
  };
}

export function sessionIssued(token: string, s: SessionRow, u: UserRow): TSessionIssued {
  return {
    token,
    sessionId: s.id,
    expiresAt: s.expiresAt.toISOString(),
    idleTimeoutSeconds: s.idleTimeoutSeconds,
    user: userSummary(u),
  };
}
