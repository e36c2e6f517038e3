import {
  ZGrantRevokeBodySchema,
  ZSubscriptionCancelBodySchema,
  ZSystemWatchBodySchema,
  type TGrantRevokeBody,
  type TGrantRevokeResult,
  type TRequestType,
} from "../../protocol";
import { RequestRefusedError } from "../dispatch-request";
import { GRANT_CLOCK_SKEW_MS } from "../../grants/verify-grant";
import type { RequestHandler } from "../request-context";
import { createDeviceRequestHandlers } from "../../devices/device-request-handlers";
import type { DeviceService } from "../../devices/device-service";
import { readSystemInfo, readSystemSnapshot } from "./system-info";
import { createSiteRequestHandlers, type SiteServices } from "../../discovery/site-requests";
import { createTerminalHandlers } from "../../terminal/terminal-handlers";
import type { TerminalHub } from "../../terminal/terminal-hub";
import { createAuditRequestHandlers } from "../../audit/audit-requests";
import type { AuditLog } from "../../audit/audit-log";

/** Dependencies of the built-in handlers that reach outside the process. */
export interface HandlerDeps {
  /** Rotates the instance token (companion half + console call); returns the new enrollment string. */
  rotateToken(): Promise<string>;
  /**
   * Records an early revocation and closes the sessions it ends (`grants.revoke`; `unavailable`
   * without). `asker`: the session that asked, and whether it is the signer's own account.
   */
  revokeGrant?: (body: TGrantRevokeBody, asker: { sessionId: string; bySigner: boolean }) => TGrantRevokeResult;
  /** System information source (os module by default). */
  systemInfo?: typeof readSystemInfo;
  systemSnapshot?: typeof readSystemSnapshot;
  /** The running device service, if any (device requests answer `unavailable` without one). */
  devices?: () => DeviceService | undefined;
  /** Discovery, adoption and vault (answer `unavailable` without). */
  site?: () => SiteServices | undefined;
  /** Device terminals (answer `unavailable` without). */
  terminals?: TerminalHub;
  /** The audit log (`audit.read` answers `unavailable` without). */
  audit?: () => AuditLog | undefined;
}

/**
 * The handler of every catalogue request type. Bodies arrive already parsed with the
 * catalogue's body schema; results are checked against the result schema by the dispatcher.
 */
export function createRequestHandlers(deps: HandlerDeps): Record<TRequestType, RequestHandler> {
  const info = deps.systemInfo ?? readSystemInfo;
  const snapshot = deps.systemSnapshot ?? readSystemSnapshot;
  return {
    ping: (_body, ctx) => ({ receivedAt: ctx.now() }),
    "system.info": () => info(),
    "system.watch": (body, ctx) => {
      const { intervalMs } = ZSystemWatchBodySchema.parse(body);
      return {
        subscriptionId: ctx.subscribe({ intervalMs, type: "system.snapshot", produce: () => snapshot(ctx.now()) }),
      };
    },
    "subscription.cancel": (body, ctx) => ({
      cancelled: ctx.cancelSubscription(ZSubscriptionCancelBodySchema.parse(body).subscriptionId),
    }),
    "token.rotate": async () => ({ enrollment: await deps.rotateToken() }),
    "grants.revoke": (body, ctx) => {
      if (deps.revokeGrant === undefined) throw new RequestRefusedError("unavailable");
      const revoke = ZGrantRevokeBodySchema.parse(body);
      // Every grant this companion would accept as issued by now is revoked, whatever the clocks
      // of the administrator who signed it and of the one revoking it say: the time is this
      // host's clock plus the skew verification allows. A later time is refused: it would also
      // refuse re-grants not made yet (one administrator locking another out).
      const latest = ctx.now() + GRANT_CLOCK_SKEW_MS;
      if (revoke.issuedAt > latest)
        throw new RequestRefusedError("bad_request", "A revocation cannot reach grants not issued yet.");
      return deps.revokeGrant(
        { accountId: revoke.accountId, issuedAt: latest },
        { sessionId: ctx.sessionId ?? "", bySigner: ctx.grant.heldBySigner },
      );
    },
    ...createDeviceRequestHandlers(deps.devices ?? (() => undefined)),
    ...createSiteRequestHandlers(deps.site ?? (() => undefined)),
    ...createTerminalHandlers(() => deps.terminals),
    ...createAuditRequestHandlers(deps.audit ?? (() => undefined)),
  };
}
