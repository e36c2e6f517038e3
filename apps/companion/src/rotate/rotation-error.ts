/**
 * Why a rotation failed, by what the console may hold afterwards:
 * - `busy`: another rotation holds the state folder's lock; nothing was done.
 * - `refused`: the console answered that it changed nothing; the current key still holds.
 * - `unknown`: the console may have taken the new key (lost reply, 5xx, malformed answer);
 *   rotation.json keeps it until a later connection or rotation settles which key it holds.
 * - `unsettled`: an earlier rotation's outcome is still unknown and the console could not say
 *   which key it holds; nothing new was sent and both keys are kept.
 */
export type RotationOutcome = "busy" | "refused" | "unknown" | "unsettled";

/** A failed rotation; `outcome` says what the console may hold (see {@link RotationOutcome}). */
export class RotationError extends Error {
  constructor(
    message: string,
    readonly outcome: RotationOutcome,
  ) {
    super(message);
    this.name = "RotationError";
  }
}
