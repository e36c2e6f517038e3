"use client";
import { useCallback, useEffect, useState } from "react";
import type { TAuditReadResult } from "@veil/protocol";
import { errorMessage } from "../api";
import type { InstanceChannel } from "../instances/e2e-channel";
import { verifyAuditPage, type AuditPageCheck } from "./verify-audit-page";

/** Records asked for per page (the companion may send fewer to fit one E2E message). */
const PAGE_SIZE = 100;

/** One page as received, with this browser's verdict on it. */
export interface CheckedAuditPage {
  readonly page: TAuditReadResult;
  readonly check: AuditPageCheck;
}

/**
 * Pages through the companion's audit log over the E2E session, newest first, and verifies
 * every page in the browser as it arrives (hashes, links, head, and the link to the newer page).
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

  return {
    pages,
    loading,
    error,
    more: oldest?.page.more === true,
    loadOlder,
    refresh: useCallback(() => setVersion((v) => v + 1), []),
  };
}
