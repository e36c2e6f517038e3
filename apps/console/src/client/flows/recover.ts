/**
 * Lost password: sign in with the recovery kit and set a new password. Everything secret stays
 * in this tab: recovery prelogin (the kit's salt) → params (DEFAULT_KDF + that salt) checked
 * against the floor/ceiling → Argon2id in a worker (kind "recovery-code", context the typed
 * e-mail) → POST /api/auth/recover/start with the recovery AuthKey (+ TOTP or backup code when
 * asked) → the private keys unwrapped HERE with the recovery WrapKey and checked against the
 * served public keys and certificate → new password: fresh params and salt, Argon2id, the SAME
 * keys re-wrapped → optionally a new recovery kit (the old code is spent) → POST
 * /api/auth/recover/complete (the console ends every session) → signed in.
 *
 * The console never receives the recovery code, the new password, a WrapKey or a private key.
 */
import { DecryptError, toBase64Url, wipe, type AuthKey, type WrapKey } from "@veil/crypto";
import {
  ZRecoverCompleteRequestSchema,
  ZRecoverPreloginResponseSchema,
  ZRecoverStartRequestSchema,
  ZRecoverStartResponseSchema,
  ZSessionIssuedSchema,
  type TRecoverCompleteRequest,
  type TRecoverStartRequest,
  type TRecoverStartResponse,
  type TRecoveryKit,
} from "@veil/protocol";
import {
  KeyIntegrityError,
  unwrapAccountKeys,
  wipeAccountKeys,
  wrapAccountKeys,
  type AccountKeyPairs,
} from "../account-keys";
import { apiRequest, ApiError } from "../api";
import { deriveInWorker } from "../derive-keys";
import { normalizeEmail } from "../email";
import { describeCost, freshParams, paramsToWire, recoveryParams } from "../kdf-params";
import { checkPassword, passwordLength, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../password-policy";
import { makeRecoveryKit, normalizeRecoveryCode } from "../recovery-kit";
import { completeSignIn } from "../session-store";
import type { Phase } from "./sign-in";

/** Shown for a wrong code, an unknown e-mail and an account without a kit alike (the console answers the same for all three). */
export const WRONG_RECOVERY_CODE = "The e-mail or recovery code is wrong, or this account has no recovery kit.";
/** A code that cannot be a Veil recovery code: refused before anything is derived or sent. */
export const MALFORMED_RECOVERY_CODE =
  "That is not a recovery code: it is 32 letters A–Z and digits 2–7, in 8 groups of 4 (dashes and spaces are ignored).";

const recoverPrelogin = (email: string) =>
  apiRequest({
    method: "POST",
    path: "/api/auth/recover/prelogin",
    body: { email },
    schema: ZRecoverPreloginResponseSchema,
    auth: false,
  });
const recoverStart = (body: TRecoverStartRequest) =>
  apiRequest({
    method: "POST",
    path: "/api/auth/recover/start",
    body: ZRecoverStartRequestSchema.parse(body),
    schema: ZRecoverStartResponseSchema,
    auth: false,
  });
const recoverComplete = (body: TRecoverCompleteRequest) =>
  apiRequest({
    method: "POST",
    path: "/api/auth/recover/complete",
    body: ZRecoverCompleteRequestSchema.parse(body),
    schema: ZSessionIssuedSchema,
    auth: false,
  });

/** The console's stable codes, reworded for this page. */
function recoveryError(error: unknown): unknown {
  if (error instanceof ApiError && error.code === "invalid_credentials")
    return new ApiError("invalid_credentials", WRONG_RECOVERY_CODE, { status: error.status });
  if (error instanceof ApiError && error.code === "unauthenticated")
    return new ApiError(
      "unauthenticated",
      "This recovery took too long or was already used. Start again with your recovery code.",
      { status: error.status },
    );
  return error;
}

/** The recovery kit proved itself and the keys are open in this tab; now choose a new password. */
export interface RecoveredAccount {
  readonly email: string;
  readonly userId: string;
  readonly expiresAt: string;
  /**
   * Checks the password policy, derives the new password keys, re-wraps the same private keys,
   * optionally makes a new recovery kit, completes and signs in. Returns the new recovery code
   * to show once (or null).
   */
  complete(newPassword: string, withNewKit: boolean, phase: Phase): Promise<{ recoveryCode: string | null }>;
  /** Drops the unwrapped keys (the user gave up or starts again). */
  cancel(): void;
}

export interface RecoveryTwoFactorStep {
  finish(answer: { code: string } | { backupCode: string }, phase: Phase): Promise<RecoveredAccount>;
  cancel(): void;
}

export type RecoverStartResult =
  | { readonly kind: "proven"; readonly account: RecoveredAccount }
  | { readonly kind: "two_factor"; readonly step: RecoveryTwoFactorStep };

function openKeys(started: TRecoverStartResponse, saltServed: string, wrapKey: WrapKey): AccountKeyPairs {
  if (started.recovery.salt !== saltServed)
    throw new KeyIntegrityError("the recovery kit changed while it was being used");
  try {
    return unwrapAccountKeys(started.publicKeys, started.recovery, started.userId, wrapKey);
  } catch (error) {
    // The console accepted the code's AuthKey but served keys the code does not open.
    throw error instanceof DecryptError
      ? new KeyIntegrityError("the recovery-wrapped keys do not open with your recovery code")
      : error;
  }
}

function recovered(email: string, started: TRecoverStartResponse, keys: AccountKeyPairs): RecoveredAccount {
  let live: AccountKeyPairs | null = keys;
  const drop = () => {
    wipeAccountKeys(live);
    live = null;
  };
  return {
    email,
    userId: started.userId,
    expiresAt: started.expiresAt,
    async complete(newPassword, withNewKit, phase) {
      const held = live;
      if (held === null) throw new Error("This recovery is over; start again with your recovery code.");
      const length = passwordLength(newPassword);
      if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH)
        throw new Error(`The new password must be ${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters.`);
      const verdict = await checkPassword(newPassword, [email]);
      if (!verdict.ok) throw new Error("Choose a stronger password (see the notes under the field).");
      const params = freshParams();
      phase(`Stretching your new password with Argon2id (${describeCost(params)})`);
      const { authKey, wrapKey } = await deriveInWorker(newPassword, params, "password", email);
      try {
        const wrapped = wrapAccountKeys(held, started.userId, wrapKey);
        let recovery: TRecoveryKit | null = null;
        let recoveryCode: string | null = null;
        if (withNewKit) {
          phase("Making a new recovery kit (Argon2id again)");
          const made = await makeRecoveryKit(held, started.userId, email);
          recovery = made.kit;
          recoveryCode = made.code;
        }
        phase("Saving your new password");
        const session = await recoverComplete({
          challenge: started.challenge,
          kdf: paramsToWire(params),
          authKey: toBase64Url(authKey),
          ...wrapped,
          recovery,
        }).catch((e: unknown) => {
          throw recoveryError(e);
        });
        phase("Signing in");
        await completeSignIn(
          { token: session.token, userId: session.user.id, sessionId: session.sessionId, email },
          wrapKey,
          held,
        );
        live = null; // the session store owns the keys now
        return { recoveryCode };
      } finally {
        wipe(authKey, wrapKey);
      }
    },
    cancel: drop,
  };
}

/**
 * Step one: prove the recovery code. Resolves to the opened account, or to a second-factor step
 * when the account has 2FA (the recovery AuthKey and WrapKey wait in that step's closure).
 */
export async function startRecovery(emailInput: string, codeInput: string, phase: Phase): Promise<RecoverStartResult> {
  const email = normalizeEmail(emailInput);
  const code = normalizeRecoveryCode(codeInput);
  if (code === null) throw new Error(MALFORMED_RECOVERY_CODE); // nothing derived, nothing sent
  phase("Fetching your recovery kit's salt");
  const { salt } = await recoverPrelogin(email);
  // The console serves only the salt; the cost is DEFAULT_KDF, checked against floor and ceiling here.
  const params = recoveryParams(salt);
  phase(`Stretching your recovery code with Argon2id (${describeCost(params)})`);
  const derived = await deriveInWorker(code, params, "recovery-code", email);
  let authKey: AuthKey | null = derived.authKey;
  let wrapKey: WrapKey | null = derived.wrapKey;
  const release = () => {
    if (authKey) wipe(authKey);
    if (wrapKey) wipe(wrapKey);
    authKey = null;
    wrapKey = null;
  };
  const attempt = async (
    answer: { code: string } | { backupCode: string } | null,
    p: Phase,
  ): Promise<RecoverStartResult> => {
    if (authKey === null || wrapKey === null) throw new Error("This recovery attempt is over; start again.");
    p("Checking your recovery code");
    let started: TRecoverStartResponse;
    try {
      started = await recoverStart({ email, authKey: toBase64Url(authKey), ...(answer ?? {}) });
    } catch (error) {
      if (error instanceof ApiError && error.code === "two_factor_required" && answer === null) {
        return {
          kind: "two_factor",
          step: {
            async finish(a, p2) {
              const r = await attempt(a, p2);
              if (r.kind !== "proven") throw new Error("The console asked for the second factor again.");
              return r.account;
            },
            cancel: release,
          },
        };
      }
      if (!(error instanceof ApiError && error.code === "invalid_two_factor")) release();
      throw recoveryError(error);
    }
    try {
      p("Unlocking your keys with the recovery code");
      return { kind: "proven", account: recovered(email, started, openKeys(started, salt, wrapKey)) };
    } finally {
      release();
    }
  };
  try {
    return await attempt(null, phase);
  } catch (error) {
    release();
    throw error;
  }
}
