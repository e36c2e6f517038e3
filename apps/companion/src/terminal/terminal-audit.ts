import type { TAuditEntry } from "../protocol";
import type { TerminalEvent } from "./terminal-hub";

/** Close reasons that are a normal end of a terminal; the others are recorded as errors. */
const NORMAL = new Set(["closed", "exited", "idle", "session_closed"]);

/**
 * The audit entry of a terminal opening or closing (`terminal.session`): who (the verified
 * grant's account, role and signer), which device, how long, why it closed and the bytes each
 * way. Never the bytes themselves. The `terminal.open` / `terminal.close` requests have their
 * own request records; these add what only the terminal knows (duration, reason, byte counts,
 * and closes that no request caused: exit, idle, device offline, session end).
 */
export function terminalAuditEntry(e: TerminalEvent, now: number): TAuditEntry {
  const closing = e.phase === "close";
  return {
    kind: "event",
    accountId: e.accountId,
    signer: e.signer,
    role: e.role,
    type: closing ? "terminal.session.close" : "terminal.session.open",
    target: `mac=${e.mac}; subscriptionId=${e.terminalId}`,
    result: !closing || NORMAL.has(e.reason ?? "") ? "ok" : "error",
    code: closing ? (e.reason ?? null) : null,
    durationMs: closing ? Math.max(0, now - e.openedAt) : null,
    metrics: closing ? { bytesIn: e.bytesIn, bytesOut: e.bytesOut } : null,
    detail: null,
  };
}
