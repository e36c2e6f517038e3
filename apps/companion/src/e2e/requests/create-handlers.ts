import {
  ZGrantRevokeBodySchema,
  ZSubscriptionCancelBodySchema,
  ZSystemWatchBodySchema,
  type TGrantRevokeBody,
  type TGrantRevokeResult,
  type TRequestType,
} from "../../protocol";
import { RequestRefusedError } from "../dispatch-request";
import { revocationShare, revocationTime } from "../../grants/grant-revocations";
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
   * without). `asker`: the session that asked, and whose share of the record it counts against
   * (revocationShare).
   */
  revokeGrant?: (body: TGrantRevokeBody, asker: { sessionId: string; share: string }) => TGrantRevokeResult;
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
      return deps.revokeGrant(
        { accountId: revoke.accountId, issuedAt: revocationTime(revoke.issuedAt, ctx.now()) },
        { sessionId: ctx.sessionId ?? "", share: revocationShare(ctx.grant) },
      );
    },
    ...createDeviceRequestHandlers(deps.devices ?? (() => undefined)),
    ...createSiteRequestHandlers(deps.site ?? (() => undefined)),
    ...createTerminalHandlers(() => deps.terminals),
    ...createAuditRequestHandlers(deps.audit ?? (() => undefined)),
  };
}
