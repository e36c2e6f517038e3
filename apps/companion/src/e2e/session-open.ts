/**
 * The checks a session-open frame must pass before the companion answers its handshake: the
 * grant bundle verifies under the pinned signer (and is not revoked, expired, or for a rolled
 * back box key), the account holds fewer than its share of sessions, and the Noise_KK message
 * opens with the grant's certified box key (prologue: protocol version, instance id, account id).
 */
import {
  acceptSession,
  boxPrivateKey,
  fromBase64Url,
  SessionError,
  type IdentityPublicKey,
  type PendingResponderSession,
} from "../crypto";
import { GrantError, verifyGrantBundle, type VerifiedGrant } from "../grants/verify-grant";
import type { EpochFloors } from "../grants/box-key-epochs";
import { COMPANION_VERSION } from "../version";
import { decodeSessionOpen, PROTOCOL_VERSION, SESSION_PROTOCOL_VERSION, type TCompanionHello } from "../protocol";

/** What the checks need of the responder. */
export interface SessionOpenChecks {
  instanceId: string;
  /** The instance's X25519 static private key. */
  boxPrivateKey: Uint8Array;
  /** The pinned grant signer. */
  signer: IdentityPublicKey;
  now: number;
  boxKeyEpochs: EpochFloors;
  revokedBefore?: (accountId: string) => number | undefined;
  /** Open sessions of one account now. */
  sessionsOf(accountId: string): number;
  /** Open sessions one account may hold (so one account cannot take every slot). */
  maxSessionsPerAccount: number;
}

/** The outcome: a verified grant and the handshake to answer, or why the peer is refused. */
export type SessionOpenOutcome =
  | { ok: true; grant: VerifiedGrant; pending: PendingResponderSession }
  | {
      ok: false;
      /** For the log and the audit log. */
      code: string;
      /** What the peer is told in its `close` frame. */
      reason: "grant_refused" | "handshake_failed" | "too_many_sessions";
      /** Whether the audit log records it (a full account is load, not a refused grant). */
      audited: boolean;
    };

/**
 * Runs every check on the session-open frame `bytes`. Never throws. Raises the account's box-key
 * epoch floor only once its grant verified and it has room for the session.
 */
export function checkSessionOpen(bytes: Uint8Array, checks: SessionOpenChecks): SessionOpenOutcome {
  try {
    const open = decodeSessionOpen(bytes);
    const grant = verifyGrantBundle(open.bundleJson, {
      instanceId: checks.instanceId,
      signer: checks.signer,
      now: checks.now,
      minBoxKeyEpoch: (accountId, identityKey) => checks.boxKeyEpochs.floor(accountId, identityKey),
      ...(checks.revokedBefore !== undefined ? { revokedBefore: checks.revokedBefore } : {}),
    });
    if (checks.sessionsOf(grant.accountId) >= checks.maxSessionsPerAccount) {
      return { ok: false, code: "too_many_sessions_for_account", reason: "too_many_sessions", audited: false };
    }
    checks.boxKeyEpochs.raise(grant.accountId, grant.identityPublicKey, grant.boxKeyEpoch, grant.via);
    const pending = acceptSession({
      protocolVersion: SESSION_PROTOCOL_VERSION,
      instanceId: checks.instanceId,
      accountId: grant.accountId,
      instanceSecretKey: boxPrivateKey(checks.boxPrivateKey),
      accountPublicKey: fromBase64Url(grant.boxPublicKey),
      message: open.noiseMessage,
    });
    return { ok: true, grant, pending };
  } catch (error) {
    const code = error instanceof GrantError ? error.code : error instanceof SessionError ? error.code : "malformed";
    return {
      ok: false,
      code,
      reason: error instanceof GrantError ? "grant_refused" : "handshake_failed",
      audited: true,
    };
  }
}

/**
 * The payload of the companion's handshake answer: who it is, what the grant lets the peer do
 * until when, and the window of its push streams (the browser acknowledges their events).
 */
export function companionHello(instanceId: string, grant: VerifiedGrant, streamWindowBytes: number): TCompanionHello {
  return {
    kind: "hello",
    instanceId,
    protocolVersion: PROTOCOL_VERSION,
    companionVersion: COMPANION_VERSION,
    role: grant.role,
    grantExpiresAt: grant.expiresAt,
    streamWindowBytes,
  };
}
