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

/**
 * How long the two-factor step may hold the WrapKey: until the challenge's `expiresAt`, but no
 * longer than the console's challenge lifetime (5 min, CHALLENGE_SECONDS in the login route),
 * whatever time it names, and no less than a minute, so a browser whose clock runs ahead of the
 * console's can still answer (the console refuses an expired challenge itself).
 */
export const TWO_FACTOR_HOLD_MAX_MS = 5 * 60_000;
export const TWO_FACTOR_HOLD_MIN_MS = 60_000;

/**
 * Ends a session this page will not use (best effort, never throws): a second factor accepted
 * after the page cancelled the step would otherwise leave a live session nobody holds, listed
 * until it idles out. Sent with that session's own token (the client API sends the signed-in
 * one), with the same request settings as client/api.ts; the answer is not read.
 */
async function endUnusedSession(token: string): Promise<void> {
  try {
    await fetch("/api/auth/logout", {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", "x-auth-token": token },
      body: "{}",
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } catch {
    // It ends by itself at its idle timeout.
  }
}

/** Clock and timers (tests). */
export interface SignInOptions {
  readonly now?: () => number;
  readonly setTimer?: (run: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
}

export async function signIn(
  emailInput: string,
  password: string,
  phase: Phase,
  options: SignInOptions = {},
): Promise<SignInResult> {
  const {
    now = Date.now,
    setTimer = (run, ms) => setTimeout(run, ms),
    clearTimer = (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  } = options;
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
    // "open": waiting for an answer; "checking": an answer is with the console; "over": the
    // WrapKey is wiped (finished, cancelled, or the challenge expired). The page cancels the
    // step when it goes (login-view.tsx); the timer wipes it when the challenge expires.
    let state: "open" | "checking" | "over" = "open";
    let expired = false;
    const isOver = () => state === "over";
    const end = () => {
      if (state === "over") return;
      state = "over";
      clearTimer(timer);
      wipe(held);
    };
    const until = Date.parse(result.expiresAt) - now();
    const hold = Number.isFinite(until)
      ? Math.min(Math.max(until, TWO_FACTOR_HOLD_MIN_MS), TWO_FACTOR_HOLD_MAX_MS)
      : TWO_FACTOR_HOLD_MAX_MS;
    const timer = setTimer(() => {
      expired = true;
      // An answer being checked finishes (or fails) first, and then wipes.
      if (state === "open") end();
    }, hold);
    return {
      kind: "two_factor",
      step: {
        expiresAt: result.expiresAt,
        async finish(answer) {
          if (state === "checking") throw new Error("A code is being checked.");
          if (state === "over") throw new Error("This sign-in attempt is over; start again.");
          state = "checking";
          let r: Awaited<ReturnType<typeof api.login2fa>>;
          try {
            r = await api.login2fa({ challenge, ...answer });
          } catch (error) {
            // A wrong code may be tried again until the challenge expires.
            if (state === "checking") state = "open";
            if (expired) end();
            throw error;
          }
          // Cancelled (the page went) while the console was checking: the key is already wiped,
          // and the session the console just opened is ended rather than left live.
          if (isOver()) {
            await endUnusedSession(r.session.token);
            throw new Error("This sign-in attempt is over; start again.");
          }
          try {
            phase("Unlocking your keys");
            await completeSignIn(
              { token: r.session.token, userId: r.session.user.id, sessionId: r.session.sessionId, email },
              held,
            );
          } finally {
            end();
          }
        },
        cancel() {
          end();
        },
      },
    };
  } finally {
    wipe(authKey);
    if (keep) wipe(keep);
  }
}
