import { MAX_GRANT_LIFETIME_MS, MAX_GRANT_REVOCATIONS, type TGrantRevocation } from "../protocol";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { StateStore } from "../state/state-store";
import { GRANT_CLOCK_SKEW_MS, type VerifiedGrant } from "./verify-grant";

/**
 * Revocations kept for the signer's own account alone: administrators that fill the record
 * cannot stop the signer from revoking them.
 */
export const SIGNER_RESERVED_REVOCATIONS = 1_000;

/**
 * New entries one administrator's share may hold (see {@link revocationShare}). The grant form
 * revokes before every grant it signs, so each account an administrator grants takes a place:
 * without a share, one administrator could fill the record and stop every other from granting.
 */
export const MAX_REVOCATIONS_PER_SHARE = 1_000;

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
 * Whose share of the record a revocation asked under `grant` counts against: the signer's own
 * account ("signer", which may also use the reserve); an administrator granted under a
 * delegation counts against the delegated administrator, who can mint any number of such
 * accounts; any other administrator against itself (only the signer makes those).
 */
export function revocationShare(grant: VerifiedGrant): string {
  if (grant.heldBySigner) return "signer";
  return grant.delegatedBy?.accountId ?? grant.accountId;
}

interface Entry {
  before: number;
  by: string | undefined;
}

const entry = (r: TGrantRevocation): Entry => (typeof r === "number" ? { before: r, by: undefined } : r);

/**
 * Grants revoked early (`grants.revoke`), kept in `revocations.json` in the state folder: per
 * account, the time at or before which its grants (and grants signed under its admin
 * delegation) are refused, and whose share the entry counts against. Only ever moves forward, so
 * a later re-grant of the same account works and an older grant never comes back. A revocation
 * is forgotten once every grant and delegation it could reach has expired (they last at most
 * MAX_GRANT_LIFETIME_MS).
 */
export class GrantRevocations {
  readonly #store: Pick<StateStore, "saveRevocations">;
  readonly #entries: Map<string, Entry>;

  constructor(store: Pick<StateStore, "loadRevocations" | "saveRevocations">) {
    this.#store = store;
    this.#entries = new Map(Object.entries(store.loadRevocations()).map(([id, r]) => [id, entry(r)]));
  }

  /** Grants of `accountId` issued at or before this time are revoked (undefined: none are). */
  before(accountId: string): number | undefined {
    return this.#entries.get(accountId)?.before;
  }

  /**
   * Records the revocation (saved before it returns) and gives the account's time after it.
   * `share`: whose share a new entry counts against (revocationShare); "signer" may also use the
   * last SIGNER_RESERVED_REVOCATIONS places of the record.
   */
  revoke(accountId: string, issuedAt: number, asker: { share: string; now: number }): number {
    const previous = this.#entries.get(accountId);
    const before = Math.max(previous?.before ?? 0, issuedAt);
    if (previous?.before === before) return before;
    const next = new Map(this.#entries);
    if (previous === undefined) this.#makeRoom(next, asker);
    next.set(accountId, { before, by: previous === undefined ? asker.share : previous.by });
    this.#store.saveRevocations(
      Object.fromEntries(
        [...next].map(([id, e]) => [id, e.by === undefined ? e.before : { before: e.before, by: e.by }]),
      ),
    );
    this.#entries.clear();
    for (const [id, e] of next) this.#entries.set(id, e);
    return before;
  }

  /** Forgets revocations nothing can reach any more when `next` has no room for the asker, else refuses. */
  #makeRoom(next: Map<string, Entry>, asker: { share: string; now: number }): void {
    if (this.#fits(next, asker.share)) return;
    // Every grant or delegation issued at or before `before` has expired by before + MAX_GRANT_LIFETIME_MS.
    for (const [id, e] of next) if (e.before + MAX_GRANT_LIFETIME_MS < asker.now) next.delete(id);
    if (this.#fits(next, asker.share)) return;
    throw new RequestRefusedError(
      "unavailable",
      asker.share === "signer"
        ? "This companion already keeps the most revocations it can."
        : "This companion keeps the most revocations this administrator (or the delegation it was granted under) may add; the instance's signer can still revoke.",
    );
  }

  #fits(next: Map<string, Entry>, share: string): boolean {
    if (share === "signer") return next.size < MAX_GRANT_REVOCATIONS;
    if (next.size >= MAX_GRANT_REVOCATIONS - SIGNER_RESERVED_REVOCATIONS) return false;
    let mine = 0;
    for (const e of next.values()) if (e.by === share) mine += 1;
    return mine < MAX_REVOCATIONS_PER_SHARE;
  }
}
