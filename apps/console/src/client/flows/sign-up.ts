/**
 * Sign-up: the browser picks the user id (the wrapped keys' AAD binds it), fresh Argon2id
 * params and salt, derives AuthKey and WrapKey in a worker, makes the Ed25519 identity key and
 * the X25519 box key, certifies the box key, wraps both, optionally wraps them again under a
 * recovery code, and sends only what ZSignupRequestSchema allows.
 */
import { toBase64Url, wipe } from "@veil/crypto";
import type { TSignupRequest } from "@veil/protocol";
import { createAccountKeys } from "../account-keys";
import { deriveInWorker } from "../derive-keys";
import { normalizeEmail } from "../email";
import * as api from "../endpoints";
import { describeCost, freshParams, paramsToWire } from "../kdf-params";
import { makeRecoveryKit } from "../recovery-kit";
import { completeSignIn } from "../session-store";
import type { Phase } from "./sign-in";

export interface SignUpInput {
  readonly email: string;
  readonly password: string;
  readonly inviteToken: string | null;
  readonly withRecoveryKit: boolean;
}

/** Creates the account and signs in; returns the recovery code to show once (or null). */
export async function signUp(input: SignUpInput, phase: Phase): Promise<{ recoveryCode: string | null }> {
  const userId = crypto.randomUUID();
  const email = normalizeEmail(input.email);
  const params = freshParams();
  phase(`Stretching your password with Argon2id (${describeCost(params)})`);
  const { authKey, wrapKey } = await deriveInWorker(input.password, params, "password", email);
  try {
    phase("Making your keys");
    const { keys, wire } = createAccountKeys(userId, wrapKey);
    let recoveryCode: string | null = null;
    let recovery: TSignupRequest["recovery"];
    if (input.withRecoveryKit) {
      phase("Wrapping your keys under a recovery code (Argon2id again)");
      const kit = await makeRecoveryKit(keys, userId, email);
      recoveryCode = kit.code;
      recovery = kit.kit;
    }
    phase("Creating your account");
    const body: TSignupRequest = {
      userId,
      email,
      kdf: paramsToWire(params),
      authKey: toBase64Url(authKey),
      keys: wire,
      ...(input.inviteToken ? { inviteToken: input.inviteToken } : {}),
      ...(recovery ? { recovery } : {}),
    };
    const session = await api.signup(body);
    phase("Unlocking your keys");
    await completeSignIn(
      { token: session.token, userId: session.user.id, sessionId: session.sessionId, email },
      wrapKey,
      keys,
    );
    return { recoveryCode };
  } finally {
    wipe(authKey, wrapKey);
  }
}
