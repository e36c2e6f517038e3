"use client";
import { z } from "zod";
import { useEffect, useState } from "react";
import { fromBase64Url } from "@veil/crypto";
import type { TDeviceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import type { Ready } from "../instances/ready-session";
import type { InstanceSession } from "../instances/use-instance-session";
import { fetchSnapshot } from "./fetch-snapshot";
import { openSnapshot } from "./open-snapshot";
import { ownerScope, readOwned, writeOwned, type LocalOwner } from "../local-records";

/** A verified, opened last-known inventory. */
export interface LastKnownSnapshot {
  readonly takenAt: number;
  readonly sequence: number;
  readonly devices: TDeviceSummary[];
}

/** What {@link useLastKnownInventory} returns. */
export interface LastKnownInventory {
  readonly snapshot: LastKnownSnapshot | null;
  readonly error: string | null;
  readonly loading: boolean;
}

/**
 * Highest sequence accepted per instance and account (with its identity key), in this tab and
 * (public data) in this browser profile's localStorage: a console that later serves an older
 * snapshot (a rollback) is refused in every later tab of the account too, not only in the one
 * that saw the newer one. Another account signing in here starts from its own record
 * (instances/trust.ts, "What this browser remembers"); v1, kept per profile, is ignored.
 */
const highestSeen = new Map<string, number>();
const SEQUENCES_KEY = "veil.snapshot-sequences.v2";
const LEGACY_SEQUENCES_KEY = "veil.snapshot-sequences.v1";
const ZSequenceSchema = z.number().int().min(0);

/** The highest sequence `owner` accepted for the instance in this browser (0 if none). */
export function highestFor(owner: LocalOwner, instanceId: string): number {
  const tab = highestSeen.get(`${ownerScope(owner)}|${instanceId}`) ?? 0;
  return Math.max(tab, readOwned(SEQUENCES_KEY, ZSequenceSchema, owner)[instanceId] ?? 0);
}

/** Raises `owner`'s highest accepted sequence for the instance (never lowers it). */
export function recordSequence(owner: LocalOwner, instanceId: string, sequence: number): void {
  const highest = Math.max(sequence, highestFor(owner, instanceId));
  highestSeen.set(`${ownerScope(owner)}|${instanceId}`, highest);
  // No storage: this tab still refuses rollbacks.
  writeOwned(
    SEQUENCES_KEY,
    owner,
    { ...readOwned(SEQUENCES_KEY, ZSequenceSchema, owner), [instanceId]: highest },
    LEGACY_SEQUENCES_KEY,
  );
}

/**
 * The instance's last-known inventory, for showing while the site is offline: fetched from the
 * console when the page opens and again whenever the console's presence for the instance
 * changes (the companion's final snapshot arrives as it goes away), then verified against the
 * instance identity key this browser verified from the certificate and opened with the
 * account's box key (./open-snapshot.ts). `snapshot` is null when the console holds none.
 */
export function useLastKnownInventory(site: InstanceSession, session: Ready): LastKnownInventory {
  const [state, setState] = useState<LastKnownInventory>({ snapshot: null, error: null, loading: true });
  const instanceId = site.instance?.id ?? null;
  const identityKey = site.verified?.body.identityPublicKey ?? null;
  const presenceKey = `${String(site.online)}|${site.instance?.presence.lastSeenAt ?? ""}`;
  const verificationError = site.verification && "error" in site.verification ? site.verification.error : null;

  useEffect(() => {
    if (verificationError !== null) {
      setState({ snapshot: null, error: verificationError, loading: false });
      return;
    }
    if (instanceId === null || identityKey === null) return;
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    void (async () => {
      try {
        const { snapshot: served } = await fetchSnapshot(instanceId, abort.signal);
        if (served === null) {
          if (!abort.signal.aborted) setState({ snapshot: null, error: null, loading: false });
          return;
        }
        const owner: LocalOwner = { accountId: session.me.user.id, identityPublicKey: session.keys.identity.publicKey };
        const opened = await openSnapshot(served, {
          instanceId,
          instanceIdentityPublicKey: fromBase64Url(identityKey),
          recipient: session.keys.box,
          minSequence: highestFor(owner, instanceId),
        });
        recordSequence(owner, instanceId, opened.sequence);
        if (!abort.signal.aborted)
          setState({
            snapshot: { takenAt: opened.takenAt, sequence: opened.sequence, devices: opened.devices },
            error: null,
            loading: false,
          });
      } catch (error) {
        if (abort.signal.aborted) return;
        setState((s) => ({ snapshot: s.snapshot, error: errorMessage(error), loading: false }));
      }
    })();
    return () => abort.abort();
  }, [instanceId, identityKey, presenceKey, verificationError, session.keys, session.me.user.id]);

  return state;
}
