import {
  ZDiscoveryAdoptBodySchema,
  ZDiscoveryCancelBodySchema,
  ZDiscoveryStartBodySchema,
  ZVaultDeleteBodySchema,
  ZVaultGenerateBodySchema,
  ZVaultInitBodySchema,
  ZVaultListBodySchema,
  ZVaultPutBodySchema,
  ZVaultRevealBodySchema,
  ZVaultUnlockBodySchema,
  type DISCOVERY_REQUEST_CATALOGUE,
  type TDeviceJobEvent,
  type TDeviceJobProgress,
  type TDiscoveredDevice,
  type TDiscoveryAdoptBody,
  type TDiscoveryResultsEvent,
  type TDiscoveryStartResult,
  type VAULT_REQUEST_CATALOGUE,
} from "../protocol";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { RequestContext, RequestHandler } from "../e2e/request-context";
import { adoptDevices, type DeviceJobDeps } from "../adoption/adopt-devices";
import { PinStore } from "../adoption/pin-store";
import { generateCredentials } from "../vault/generate-credentials";
import { VaultService } from "../vault/vault-service";
import { runScan } from "./discovery-scan";
import { JobStream } from "./job-stream";
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
    ...(o.isAdopted !== undefined ? { isAdopted: o.isAdopted } : {}),
  };
}

function jobStream(
  ctx: RequestContext,
  type: string,
  total: number,
): { stream: JobStream<TDeviceJobProgress, TDeviceJobEvent>; push: (p: TDeviceJobProgress) => void } {
  const counts = { done: 0, failed: 0, skipped: 0, total };
  const stream = new JobStream<TDeviceJobProgress, TDeviceJobEvent>(ctx, type, 200, (results, done) => ({
    results,
    done,
    counts: { ...counts },
  }));
  return {
    stream,
    push: (p) => {
      counts[p.status]++;
      stream.push(p);
    },
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
      );
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
      const { stream, push } = jobStream(ctx, "adoption.progress", body.devices.length);
      void adoptDevices(body, s, push)
        .catch((error: unknown) =>
          s.logger.error("adoption failed", { error: error instanceof Error ? error.name : "unknown" }),
        )
        .finally(() => stream.finish());
      return { subscriptionId: stream.subscriptionId, total: body.devices.length };
    },
    "vault.status": () => site().vault.status(),
    "vault.init": (raw) => {
      const body = ZVaultInitBodySchema.parse(raw);
      return site().vault.init(body.publicKey, body.replace);
    },
    "vault.unlock": (raw) => {
      const body = ZVaultUnlockBodySchema.parse(raw);
      return site().vault.unlock(body.privateKey, body.idleMinutes);
    },
    "vault.lock": () => {
      site().vault.lock();
      return { locked: true };
    },
    "vault.put": (raw) => {
      const body = ZVaultPutBodySchema.parse(raw);
      const s = site();
      const metas = s.vault.putMany([
        { target: body.target, label: body.label, secret: body.secret, notes: body.notes, origin: "manual" },
      ]);
      const entry = metas?.[0];
      return entry === undefined ? { status: "not_initialized" } : { status: "stored", entry };
    },
    "vault.list": (raw) => site().vault.list(ZVaultListBodySchema.parse(raw)),
    "vault.reveal": (raw) => {
      const r = site().vault.open(ZVaultRevealBodySchema.parse(raw).entryId);
      if (r.status !== "ok") return { status: r.status };
      return { status: "ok", entry: r.meta, secret: r.secret, ...(r.notes !== undefined ? { notes: r.notes } : {}) };
    },
    "vault.delete": (raw) => ({ deleted: site().vault.delete(ZVaultDeleteBodySchema.parse(raw).entryId) }),
    "vault.generate": (raw, ctx) => {
      const s = site();
      const body = ZVaultGenerateBodySchema.parse(raw);
      const { stream, push } = jobStream(ctx, "vault.generate.progress", body.devices.length);
      void generateCredentials(body, s, push)
        .catch((error: unknown) =>
          s.logger.error("credential generation failed", { error: error instanceof Error ? error.name : "unknown" }),
        )
        .finally(() => stream.finish());
      return { subscriptionId: stream.subscriptionId, total: body.devices.length };
    },
  };
}
