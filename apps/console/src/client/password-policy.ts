/**
 * The password policy, enforced in the browser because the console never sees the password
 * (OWASP ASVS v4 §2.1): 12 to 128 characters, a zxcvbn-ts strength score of at least 3 using
 * the common and English dictionaries (which include their common-password lists), and no
 * composition rules. The dictionaries are large, so they load on first use.
 */
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;
export const PASSWORD_MIN_SCORE = 3;

export interface PasswordVerdict {
  readonly ok: boolean;
  /** 0–4 from zxcvbn-ts; null until the estimator has loaded. */
  readonly score: number | null;
  /** Why it is refused, or a hint; empty when fine. */
  readonly messages: readonly string[];
}

let factory: Promise<ZxcvbnFactory> | null = null;

/** Loads zxcvbn-ts with the common + English dictionaries and keyboard graphs (once). */
export function loadEstimator(): Promise<ZxcvbnFactory> {
  factory ??= (async () => {
    const [core, common, en] = await Promise.all([
      import("@zxcvbn-ts/core"),
      import("@zxcvbn-ts/language-common"),
      import("@zxcvbn-ts/language-en"),
    ]);
    return new core.ZxcvbnFactory({
      translations: en.translations,
      graphs: common.adjacencyGraphs,
      dictionary: { ...common.dictionary, ...en.dictionary },
    });
  })();
  return factory;
}

/** Length in code points (what a person counts), after NFC normalisation like the KDF. */
export function passwordLength(password: string): number {
  return [...password.normalize("NFC")].length;
}

/** Checks a candidate password; `userInputs` (e.g. the e-mail) count against it. */
export async function checkPassword(password: string, userInputs: readonly string[] = []): Promise<PasswordVerdict> {
  const length = passwordLength(password);
  if (length < PASSWORD_MIN_LENGTH)
    return { ok: false, score: null, messages: [`Use at least ${PASSWORD_MIN_LENGTH} characters (${length} so far).`] };
  if (length > PASSWORD_MAX_LENGTH)
    return { ok: false, score: null, messages: [`Use at most ${PASSWORD_MAX_LENGTH} characters.`] };
  const zxcvbn = await loadEstimator();
  const inputs = userInputs.flatMap((s) => [s, ...s.split(/[@.+_-]/)]).filter((s) => s.length >= 3);
  // zxcvbn's cost grows with length; the first 100 characters decide the score in practice.
  const result = zxcvbn.check(password.slice(0, 100), inputs);
  const messages: string[] = [];
  if (result.score < PASSWORD_MIN_SCORE) {
    messages.push(result.feedback.warning ?? "This password is too easy to guess.");
    messages.push(...result.feedback.suggestions);
    if (messages.length === 1) messages.push("Add more words or characters; a long passphrase works well.");
  }
  return { ok: result.score >= PASSWORD_MIN_SCORE, score: result.score, messages };
}
