import { z } from "zod";
import type { TAuditReadResult } from "@veil/protocol";
import { readOwned, signedInOwner, writeOwned, type LocalOwner } from "../local-records";

/**
 * The newest head of an instance's audit log that this browser verified for the signed-in
 * account, kept in localStorage (public data: a sequence number, a hash and a time). The chain is hash-linked, so a record's
 * hash commits to every record before it: a later log that still passes through this record
 * with this hash kept all of that history; one that does not was rewritten or cut back. That
 * catches root on the site host rewriting the whole log consistently between two visits from
 * this browser, which the per-page checks alone cannot.
 */
export interface SeenHead {
  readonly seq: number;
  readonly hash: string;
  /** When this browser verified it (ms). */
  readonly at: number;
}

/** Whether the loaded chain continues the log this browser saw last time. */
export type Continuity =
  | { readonly state: "first" }
  | { readonly state: "continues"; readonly seen: SeenHead }
  | { readonly state: "unreached"; readonly seen: SeenHead; readonly behind: number }
  | { readonly state: "rotated"; readonly seen: SeenHead }
  | { readonly state: "broken"; readonly seen: SeenHead; readonly text: string };

/**
 * Checks `pages` (newest first, as read) against `seen`: the newest head must be at or after it,
 * and the record at its sequence must carry its hash. Until that record is loaded the answer is
 * "unreached" (or "rotated" once the oldest page says nothing older is kept).
 */
export function checkContinuity(pages: readonly TAuditReadResult[], seen: SeenHead | undefined): Continuity {
  if (seen === undefined) return { state: "first" };
  const newest = pages[0];
  if (newest === undefined) return { state: "unreached", seen, behind: 0 };
  const when = new Date(seen.at).toLocaleString();
  if (newest.head === null || newest.head.seq < seen.seq)
    return {
      state: "broken",
      seen,
      text: `the log now ends ${newest.head === null ? "empty" : `at record ${newest.head.seq}`}, before record ${seen.seq} that this browser verified on ${when}: records were removed or the log was replaced`,
    };
  for (const page of pages) {
    const record = page.records.find((r) => r.seq === seen.seq);
    if (record === undefined) continue;
    if (record.hash === seen.hash) return { state: "continues", seen };
    return {
      state: "broken",
      seen,
      text: `record ${seen.seq} is not the one this browser verified on ${when}: the log before it was rewritten`,
    };
  }
  const oldest = pages.at(-1);
  const first = oldest?.records[0];
  if (oldest === undefined || first === undefined || !oldest.more) return { state: "rotated", seen };
  return { state: "unreached", seen, behind: first.seq - seen.seq };
}

/**
 * Whether the newest head of a log in this state may be remembered without the operator: only
 * when it continues what this browser verified (or nothing was verified yet). A "rotated" log
 * proves nothing about its past, and taking its head silently would let a log rewritten to begin
 * after the remembered record pass as "continues" on every later visit.
 */
export function remembersHead(continuity: Continuity): boolean {
  return continuity.state === "first" || continuity.state === "continues";
}

/**
 * Heads per account (and identity key) of this profile: another account that signs in here
 * starts with none (instances/trust.ts, "What this browser remembers"). v1, kept per profile,
 * is ignored and dropped on the next write.
 */
const STORAGE_KEY = "veil.audit-heads.v2";
const LEGACY_STORAGE_KEY = "veil.audit-heads.v1";
const ZSeenHeadSchema = z.strictObject({
  seq: z.number().int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.number().int().min(0),
});

/** The head the signed-in account last verified for the instance in this browser, if any. */
export function seenHead(instanceId: string, owner: LocalOwner | null = signedInOwner()): SeenHead | undefined {
  return owner === null ? undefined : readOwned(STORAGE_KEY, ZSeenHeadSchema, owner)[instanceId];
}

/**
 * Remembers `head` for the instance and the signed-in account: only ever forward, unless
 * `replace` (the operator accepted the log as it is now after a break).
 */
export function rememberHead(
  instanceId: string,
  head: SeenHead,
  options: { replace?: boolean; owner?: LocalOwner | null } = {},
): void {
  const owner = options.owner === undefined ? signedInOwner() : options.owner;
  if (owner === null) return;
  const heads = readOwned(STORAGE_KEY, ZSeenHeadSchema, owner);
  const kept = heads[instanceId];
  if (kept !== undefined && kept.seq > head.seq && options.replace !== true) return;
  // No storage: the next visit checks nothing across visits, as before.
  writeOwned(STORAGE_KEY, owner, { ...heads, [instanceId]: head }, LEGACY_STORAGE_KEY);
}
