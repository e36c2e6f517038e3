"use client";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { TAuditReadResult } from "@veil/protocol";
import { errorMessage } from "../api";
import type { InstanceChannel } from "../instances/e2e-channel";
import { verifyAuditPage, type AuditPageCheck } from "./verify-audit-page";
import { checkContinuity, rememberHead, remembersHead, seenHead, type Continuity } from "./audit-continuity";

/** Records asked for per page (the companion may send fewer to fit one E2E message). */
const PAGE_SIZE = 100;
/** Older pages read on their own to reach the head this browser saw last time (then a button). */
const AUTO_PAGES = 20;

/** One page as received, with this browser's verdict on it. */
export interface CheckedAuditPage {
  readonly page: TAuditReadResult;
  readonly check: AuditPageCheck;
}

/**
 * Pages through the companion's audit log over the E2E session, newest first, and verifies
 * every page in the browser as it arrives (hashes, links, head, and the link to the newer page).
 * It also checks that the log continues the one this browser verified on its last visit
 * (./audit-continuity.ts), reading up to AUTO_PAGES older pages on its own to reach that head,
 * and remembers the newest head once the chain is whole and continues it.
 */
export function useCompanionAudit(open: InstanceChannel) {
  const [pages, setPages] = useState<readonly CheckedAuditPage[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let live = true;
    setLoading(true);
    open
      .request("audit.read", { limit: PAGE_SIZE })
      .then((page) => {
        if (!live) return;
        setPages([{ page, check: verifyAuditPage(page, { newest: true }) }]);
        setError(null);
      })
      .catch((e: unknown) => live && setError(errorMessage(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [open, version]);

  const oldest = pages.at(-1);
  const first = oldest?.page.records[0];
  const loadOlder = useCallback(() => {
    if (first === undefined) return;
    setLoading(true);
    open
      .request("audit.read", { before: first.seq, limit: PAGE_SIZE })
      .then((page) => {
        const check = verifyAuditPage(page, { newest: false, newerFirst: first });
        setPages((p) => [...p, { page, check }]);
        setError(null);
      })
      .catch((e: unknown) => setError(errorMessage(e)))
      .finally(() => setLoading(false));
  }, [open, first]);

  // The instance as the companion's authenticated hello names it (bound by the handshake).
  const instanceId = open.hello?.instanceId ?? null;
  const [seen, setSeen] = useState(() => (instanceId === null ? undefined : seenHead(instanceId)));
  const continuity: Continuity | null = useMemo(
    () =>
      pages.length === 0
        ? null
        : checkContinuity(
            pages.map((p) => p.page),
            seen,
          ),
    [pages, seen],
  );
  const autoLoaded = useRef(0);
  useEffect(() => {
    autoLoaded.current = 0;
  }, [version]);
  useEffect(() => {
    if (continuity?.state !== "unreached" || loading || autoLoaded.current >= AUTO_PAGES) return;
    autoLoaded.current += 1;
    loadOlder();
  }, [continuity, loading, loadOlder]);
  const whole = pages.every((p) => p.check.ok);
  const head = pages[0]?.page.head ?? null;
  useEffect(() => {
    if (instanceId === null || head === null || !whole || continuity === null) return;
    if (remembersHead(continuity)) rememberHead(instanceId, { seq: head.seq, hash: head.hash, at: Date.now() });
  }, [instanceId, head, whole, continuity]);

  return {
    pages,
    loading,
    error,
    more: oldest?.page.more === true,
    loadOlder,
    refresh: useCallback(() => setVersion((v) => v + 1), []),
    continuity,
    /** After a break was looked into: take the log as it is now as the reference for later visits. */
    acceptCurrent: useCallback(() => {
      if (instanceId === null || head === null) return;
      const now = { seq: head.seq, hash: head.hash, at: Date.now() };
      rememberHead(instanceId, now, { replace: true });
      setSeen(now);
    }, [instanceId, head]),
  };
}
