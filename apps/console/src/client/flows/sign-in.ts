/**
 * Log-in, in the order that keeps a malicious console from learning anything useful:
 * prelogin → params checked against the floor/ceiling (refused before deriving or sending
 * anything) → Argon2id in a worker → login with the AuthKey → second factor if asked →
 * GET /api/me → private keys unwrapped locally with the WrapKey, which never leaves the tab.
 */
import { toBase64Url, wipe, type WrapKey } from "@veil/crypto";
import * as api from "../endpoints";
import { deriveInWorker } from "../derive-keys";
import { normalizeEmail } from "../email";
import { checkServedParams, describeCost } from "../kdf-params";
import { completeSignIn } from "../session-store";

export type Phase = (label: string) => void;

/** What the second step needs; call `finish` with a TOTP code or a backup code, or `cancel`. */
export interface TwoFactorStep {
  readonly expiresAt: string;
  finish(answer: { code: string } | { backupCode: string }): Promise<void>;
  cancel(): void;
}

export type SignInResult = { readonly kind: "done" } | { readonly kind: "two_factor"; readonly step: TwoFactorStep };

export async function signIn(emailInput: string, password: string, phase: Phase): Promise<SignInResult> {
  const email = normalizeEmail(emailInput);
  phase("Fetching key-derivation settings");
  const { kdf } = await api.prelogin({ email });
  const params = checkServedParams(kdf); // throws KdfPolicyError: nothing derived, nothing sent
  phase(`Stretching your password with Argon2id (${describeCost(params)})`);
  const { authKey, wrapKey } = await deriveInWorker(password, params, "password", email);
  let keep: WrapKey | null = wrapKey;
  try {
    phase("Signing in");
    const result = await api.login({ email, authKey: toBase64Url(authKey) });
    wipe(authKey);
    if (result.status === "ok") {
      phase("Unlocking your keys");
      await completeSignIn(
        { token: result.session.token, userId: result.session.user.id, sessionId: result.session.sessionId, email },
        wrapKey,
      );
      return { kind: "done" };
    }
    const challenge = result.challenge;
    const held = wrapKey;
    keep = null; // ownership moves to the two-factor step
    let used = false;
    return {
      kind: "two_factor",
      step: {
        expiresAt: result.expiresAt,
        async finish(answer) {
          if (used) throw new Error("This sign-in attempt is over; start again.");
          const r = await api.login2fa({ challenge, ...answer });
          used = true;
          try {
            phase("Unlocking your keys");
            await completeSignIn(
              { token: r.session.token, userId: r.session.user.id, sessionId: r.session.sessionId, email },
              held,
            );
          } finally {
            wipe(held);
          }
        },
        cancel() {
          used = true;
          wipe(held);
        },
      },
    };
  } finally {
    wipe(authKey);
    if (keep) wipe(keep);
  }
}
