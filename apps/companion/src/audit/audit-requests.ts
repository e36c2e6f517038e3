import { ZAuditReadBodySchema, type TRequestType } from "../protocol";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { RequestHandler } from "../e2e/request-context";
import type { AuditLog } from "./audit-log";

/**
 * `audit.read` (auditor or admin, enforced by the dispatcher from the catalogue): one page of
 * the local log, end to end. Answers `unavailable` when the log is not open.
 */
export function createAuditRequestHandlers(
  audit: () => AuditLog | undefined,
): Record<Extract<TRequestType, `audit.${string}`>, RequestHandler> {
  return {
    "audit.read": (body) => {
      const log = audit();
      if (log === undefined) throw new RequestRefusedError("unavailable");
      return log.read(ZAuditReadBodySchema.parse(body));
    },
  };
}
