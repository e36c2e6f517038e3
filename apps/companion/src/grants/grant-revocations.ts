import { MAX_GRANT_LIFETIME_MS, MAX_GRANT_REVOCATIONS } from "../protocol";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { StateStore } from "../state/state-store";
import { GRANT_CLOCK_SKEW_MS } from "./verify-grant";

/**
 * Revocations kept for the signer's own account alone: administrators that fill the record
 * cannot stop the signer from revoking them.
 */
export const SIGNER_RESERVED_REVOCATIONS = 1_000;

/**
 * The time a `grants.revoke` that names `issuedAt` revokes up to, by this host's clock `now`. At
 * least `now`: a revoking browser whose clock runs slow must not leave the grants issued since
 * its clock's time working (a demoted admin keeping its admin grant). At most `now` plus the skew
 * a grant may be dated ahead: a later time would also refuse re-grants not made yet (one
 * administrator locking another out), so it is refused.
 */
export function revocationTime(issuedAt: number, now: number): number {
  if (issuedAt > now + GRANT_CLOCK_SKEW_MS)
    throw new RequestRefusedError("bad_request", "A revocation cannot reach grants not issued yet.");
  return Math.max(issuedAt, now);
}

/**
 * Grants revoked early (`grants.revoke`), kept in `revocations.json` in the state folder: per
 * account, the time at or before which its grants (and grants signed under its admin
 * delegation) are refused. Only ever moves forward, so a later re-grant of the same account
 * works and an older grant never comes back. A revocation is forgotten once every grant and
 * delegation it could reach has expired (they last at most MAX_GRANT_LIFETIME_MS).
 */
export class GrantRevocations {
  readonly #store: Pick<StateStore, "saveRevocations">;
  readonly #before: Map<string, number>;

  constructor(store: Pick<StateStore, "loadRevocations" | "saveRevocations">) {
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
   * SIGNER_RESERVED_REVOCATIONS places of the record.
   */
  revoke(accountId: string, issuedAt: number, asker: { bySigner: boolean; now: number }): number {
    const previous = this.#before.get(accountId);
    const before = Math.max(previous ?? 0, issuedAt);
    if (previous === before) return before;
    const next = new Map(this.#before);
    if (previous === undefined) this.#makeRoom(next, asker);
    next.set(accountId, before);
    this.#store.saveRevocations(Object.fromEntries(next));
    this.#before.clear();
    for (const [id, t] of next) this.#before.set(id, t);
    return before;
  }

  /** Forgets revocations nothing can reach any more when `next` is full for the asker, else refuses. */
  #makeRoom(next: Map<string, number>, asker: { bySigner: boolean; now: number }): void {
    const room = asker.bySigner ? MAX_GRANT_REVOCATIONS : MAX_GRANT_REVOCATIONS - SIGNER_RESERVED_REVOCATIONS;
    if (next.size < room) return;
    // Every grant or delegation issued at or before `t` has expired by t + MAX_GRANT_LIFETIME_MS.
    for (const [id, t] of next) if (t + MAX_GRANT_LIFETIME_MS < asker.now) next.delete(id);
    if (next.size < room) return;
    throw new RequestRefusedError(
      "unavailable",
      asker.bySigner
        ? "This companion already keeps the most revocations it can."
        : "This companion keeps the most revocations administrators may add; the instance's signer can still revoke.",
    );
  }
}
