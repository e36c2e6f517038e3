/**
 * Sensitive account actions that need the password again: step-up re-authentication and
 * password change (which also creates, keeps or removes the recovery kit). Params are checked
 * against the floor/ceiling before every derivation, as at log-in.
 */
import { toBase64Url, wipe } from "@veil/crypto";
import type { TPasswordChangeRequest } from "@veil/protocol";
import { wrapAccountKeys } from "../account-keys";
import { deriveInWorker } from "../derive-keys";
import * as api from "../endpoints";
import { checkServedParams, describeCost, freshParams, paramsToWire } from "../kdf-params";
import { makeRecoveryKit } from "../recovery-kit";
import { accountEmail, getState, refreshMe } from "../session-store";
import type { Phase } from "./sign-in";

function ready() {
  const s = getState();
  if (s.status !== "ready") throw new Error("Unlock your keys first.");
  return s;
}

/** Derives the current AuthKey from the password with the account's (checked) params. */
async function currentAuthKey(password: string, phase: Phase): Promise<string> {
  const params = checkServedParams(ready().me.kdf);
  phase(`Checking your password with Argon2id (${describeCost(params)})`);
  const { authKey, wrapKey } = await deriveInWorker(password, params, "password", accountEmail());
  try {
    return toBase64Url(authKey);
  } finally {
    wipe(authKey, wrapKey);
  }
}

/** POST /api/account/step-up with a fresh proof of the password. */
export async function proveStepUp(password: string, phase: Phase): Promise<void> {
  const authKey = await currentAuthKey(password, phase);
  phase("Confirming");
  await api.stepUp({ authKey });
}

export type RecoveryChoice = "keep" | "new" | "remove";

/**
 * Re-wraps the same private keys under a new password (new salt, default params), so nothing is
 * lost; the console ends every other session. Returns a new recovery code when asked for one.
 */
export async function changePassword(
  current: string,
  next: string,
  recovery: RecoveryChoice,
  phase: Phase,
): Promise<{ recoveryCode: string | null; sessionsEnded: number }> {
  const { me, keys } = ready();
  const currentKey = await currentAuthKey(current, phase);
  const params = freshParams();
  phase(`Stretching the new password with Argon2id (${describeCost(params)})`);
  const { authKey, wrapKey } = await deriveInWorker(next, params, "password", accountEmail());
  try {
    let recoveryCode: string | null = null;
    let kit: TPasswordChangeRequest["recovery"];
    if (recovery === "new") {
      phase("Wrapping your keys under a new recovery code");
      const made = await makeRecoveryKit(keys, me.user.id, accountEmail());
      recoveryCode = made.code;
      kit = made.kit;
    } else if (recovery === "remove") kit = null;
    phase("Saving");
    const body: TPasswordChangeRequest = {
      currentAuthKey: currentKey,
      kdf: paramsToWire(params),
      authKey: toBase64Url(authKey),
      ...wrapAccountKeys(keys, me.user.id, wrapKey),
      ...(kit === undefined ? {} : { recovery: kit }),
    };
    const result = await api.changePassword(body);
    await refreshMe();
    return { recoveryCode, sessionsEnded: result.sessionsEnded };
  } finally {
    wipe(authKey, wrapKey);
  }
}
