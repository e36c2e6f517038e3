import { MAX_GRANT_REVOCATIONS, type TGrantRevocations } from "../protocol";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { StateStore } from "../state/state-store";

/**
 * Revocations kept for the signer's own account alone: an administrator that fills the table
 * with made-up accounts cannot stop the signer from revoking it.
 */
export const SIGNER_RESERVED_REVOCATIONS = 1_000;

/**
 * Grants revoked early (`grants.revoke`), kept in `revocations.json` in the state folder: per
 * account, the time at or before which its grants (and grants signed under its admin
 * delegation) are refused. Only ever moves forward, so a later re-grant of the same account
 * works and an older grant never comes back.
 */
export class GrantRevocations {
  readonly #store: StateStore;
  readonly #before: Map<string, number>;

  constructor(store: StateStore) {
    this.#store = store;
    this.#before = new Map(Object.entries(store.loadRevocations()));
  }

  /** Grants of `accountId` issued at or before this time are revoked (undefined: none are). */
  before(accountId: string): number | undefined {
    return this.#before.get(accountId);
  }

  /**
   * Records the revocation (saved before it returns) and gives the account's time after it.
   * `bySigner`: asked by the signer's own account, which may use the last
   * SIGNER_RESERVED_REVOCATIONS places of the table.
   */
  revoke(accountId: string, issuedAt: number, bySigner: boolean): number {
    const previous = this.#before.get(accountId);
    const before = Math.max(previous ?? 0, issuedAt);
    if (previous === before) return before;
    if (previous === undefined && this.#before.size >= MAX_GRANT_REVOCATIONS)
      throw new RequestRefusedError("unavailable", "This companion already keeps the most revocations it can.");
    if (previous === undefined && !bySigner && this.#before.size >= MAX_GRANT_REVOCATIONS - SIGNER_RESERVED_REVOCATIONS)
      throw new RequestRefusedError(
        "unavailable",
        "This companion keeps the most revocations administrators may add; the instance's signer can still revoke.",
      );
    const next: TGrantRevocations = Object.fromEntries(this.#before);
    next[accountId] = before;
    this.#store.saveRevocations(next);
    this.#before.set(accountId, before);
    return before;
  }
}
