import {
  ZDiscoveryAdoptBodySchema,
  ZDiscoveryCancelBodySchema,
  ZDiscoveryStartBodySchema,
  type DISCOVERY_REQUEST_CATALOGUE,
  type TDiscoveredDevice,
  type TDiscoveryAdoptBody,
  type TDiscoveryResultsEvent,
  type TDiscoveryStartResult,
  type VAULT_REQUEST_CATALOGUE,
} from "../protocol";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { RequestHandler } from "../e2e/request-context";
import { adoptDevices, type DeviceJobDeps } from "../adoption/adopt-devices";
import { PinStore } from "../adoption/pin-store";
import { createVaultRequestHandlers } from "../vault/vault-requests";
import { VaultService } from "../vault/vault-service";
import { runScan } from "./discovery-scan";
import { JobStream, startDeviceJob } from "./job-stream";
import { planScan, scopeFromConfig, type Resolver, type ScopeConfig } from "./scope";

/** The request types served here. */
export type SiteRequestType = keyof typeof DISCOVERY_REQUEST_CATALOGUE | keyof typeof VAULT_REQUEST_CATALOGUE;

/** Discovery, adoption and vault state of one running companion. */
export interface SiteServices extends DeviceJobDeps {
  readonly resolver?: Resolver;
  /** UBDP port to probe (10001) and device HTTPS port for discovery probes (443); tests override. */
  readonly ubdpPort?: number;
  readonly httpsPort?: number;
  readonly isAdopted?: (mac: string) => boolean;
  readonly scans: Map<string, { controller: AbortController; accountId: string }>;
  /** Most scans running at once. */
  readonly maxScans: number;
}

/** Options of {@link openSiteServices}. */
export interface SiteServicesOptions {
  stateDir: string;
  instanceId: string;
  clock: Clock;
  logger: Logger;
  /** VEIL_SCAN_RANGES (CIDRs); empty or undefined: this host's interface subnets. */
  scanRanges?: string | undefined;
  scope?: ScopeConfig;
  resolver?: Resolver;
  ubdpPort?: number;
  httpsPort?: number;
  timeoutMs?: number;
  concurrency?: number;
  defaultInstall?: () => TDiscoveryAdoptBody["install"];
  /** `unifiInform` adoption: this companion's inform URL and a fresh authkey (DeviceService.unifiHandover). */
  unifiHandover?: DeviceJobDeps["unifiHandover"];
  /** The device inventory's view: adopted through inform or the device channel. */
  isAdopted?: (mac: string) => boolean;
}

/** Loads the pins and the vault (always locked at start) and the scan scope. */
export function openSiteServices(o: SiteServicesOptions): SiteServices {
  return {
    scope: o.scope ?? scopeFromConfig(o.scanRanges, o.logger),
    pins: new PinStore(o.stateDir),
    vault: new VaultService({ stateDir: o.stateDir, instanceId: o.instanceId, clock: o.clock, logger: o.logger }),
    clock: o.clock,
    logger: o.logger,
    scans: new Map(),
    maxScans: 2,
    ...(o.resolver !== undefined ? { resolver: o.resolver } : {}),
    ...(o.ubdpPort !== undefined ? { ubdpPort: o.ubdpPort } : {}),
    ...(o.httpsPort !== undefined ? { httpsPort: o.httpsPort } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    ...(o.defaultInstall !== undefined ? { defaultInstall: o.defaultInstall } : {}),
    ...(o.unifiHandover !== undefined ? { unifiHandover: o.unifiHandover } : {}),
    ...(o.isAdopted !== undefined ? { isAdopted: o.isAdopted } : {}),
  };
}

/**
 * Handlers of the discovery, adoption and vault requests. Roles are enforced by the dispatcher
 * from the catalogue (discovery and adoption operator+, vault init/unlock/delete/generate admin).
 */
export function createSiteRequestHandlers(
  get: () => SiteServices | undefined,
): Record<SiteRequestType, RequestHandler> {
  const site = (): SiteServices => {
    const s = get();
    if (s === undefined) throw new RequestRefusedError("unavailable");
    return s;
  };
  return {
    "discovery.start": async (raw, ctx): Promise<TDiscoveryStartResult> => {
      const s = site();
      const body = ZDiscoveryStartBodySchema.parse(raw);
      if (s.scans.size >= s.maxScans) throw new RequestRefusedError("rate_limited");
      // The slot is taken before planning awaits (name resolution): requests of other sessions
      // run meanwhile, and each would otherwise pass the check above. No one learns this key,
      // so a planning scan cannot be cancelled; it is replaced by the scan's own entry below.
      const controller = new AbortController();
      const reserved = `planning:${crypto.randomUUID()}`;
      s.scans.set(reserved, { controller, accountId: ctx.grant.accountId });
      let plan: Awaited<ReturnType<typeof planScan>>;
      try {
        plan = await planScan(s.scope, body.targets, s.resolver !== undefined ? { resolver: s.resolver } : {});
      } finally {
        s.scans.delete(reserved);
      }
      if (plan.refused.length > 0) {
        s.logger.warn("discovery refused: out of scope", { refused: plan.refused.length });
        return { status: "refused", refused: plan.refused.slice(0, 64) };
      }
      let stats: TDiscoveryResultsEvent["stats"] = {
        probesSent: 0,
        repliesAccepted: 0,
        repliesDropped: 0,
        httpsProbes: 0,
      };
      let reason: TDiscoveryResultsEvent["reason"] = "running";
      const stream = new JobStream<TDiscoveredDevice, TDiscoveryResultsEvent>(
        ctx,
        "discovery.results",
        100,
        (results, done) => ({ results, done, stats: { ...stats }, reason: done ? reason : "running" }),
        s.clock,
      );
      // Nobody sees the results any more (cancelled, session closed): stop probing.
      stream.signal.addEventListener("abort", () => controller.abort(), { once: true });
      s.scans.set(stream.subscriptionId, { controller, accountId: ctx.grant.accountId });
      void runScan({
        hosts: plan.hosts,
        scope: s.scope,
        pins: s.pins,
        durationMs: body.durationMs,
        broadcast: body.broadcast,
        https: body.https,
        maxResults: body.maxResults,
        now: () => s.clock.now(),
        ...(s.isAdopted !== undefined ? { isAdopted: s.isAdopted } : {}),
        ...(s.ubdpPort !== undefined ? { ubdpPort: s.ubdpPort } : {}),
        ...(s.httpsPort !== undefined ? { httpsPort: s.httpsPort } : {}),
        onResult: (d) => stream.push(d),
        signal: controller.signal,
      })
        .then(
          (r) => {
            stats = r.stats;
            reason = r.reason;
          },
          (error: unknown) => {
            s.logger.error("discovery failed", { error: error instanceof Error ? error.name : "unknown" });
            reason = "cancelled";
          },
        )
        .finally(() => {
          s.scans.delete(stream.subscriptionId);
          stream.finish();
        });
      s.logger.info("discovery started", { hosts: plan.hosts.length, accountId: ctx.grant.accountId });
      return { status: "started", subscriptionId: stream.subscriptionId, hosts: plan.hosts.length };
    },
    "discovery.cancel": (raw, ctx) => {
      const s = site();
      const { subscriptionId } = ZDiscoveryCancelBodySchema.parse(raw);
      const scan = s.scans.get(subscriptionId);
      if (scan === undefined || scan.accountId !== ctx.grant.accountId) return { cancelled: false };
      scan.controller.abort();
      return { cancelled: true };
    },
    "discovery.adopt": (raw, ctx) => {
      const s = site();
      const body = ZDiscoveryAdoptBodySchema.parse(raw);
      // Aborted when its progress stream stops early: no login or change after the session ends.
      return startDeviceJob(
        ctx,
        s,
        { type: "adoption.progress", total: body.devices.length, failure: "adoption failed" },
        (push, signal) => adoptDevices(body, s, push, signal),
      );
    },
    ...createVaultRequestHandlers(site),
  };
}
