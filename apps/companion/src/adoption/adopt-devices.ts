import type { TDeviceAdoptRequest, TDeviceJobProgress, TDiscoveryAdoptBody, TVaultSecret } from "../protocol";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import { checkAddress, type ScopeConfig } from "../discovery/scope";
import type { VaultService } from "../vault/vault-service";
import { DeviceJobError, fetchInfo, login, post } from "./device-admin-client";
import type { PinStore } from "./pin-store";

/** What adoption and credential generation share. */
export interface DeviceJobDeps {
  scope: ScopeConfig;
  pins: PinStore;
  vault: VaultService;
  clock: Clock;
  logger: Logger;
  /** Per HTTPS request. */
  timeoutMs?: number;
  /** Devices handled at once. */
  concurrency?: number;
  /** The install target when the request names none (this companion's site key). */
  defaultInstall?: () => TDiscoveryAdoptBody["install"];
  /** `unifiInform` adoption (DeviceService.unifiHandover); undefined while no device side runs. */
  unifiHandover?: () => UnifiHandover | undefined;
}

/** What `unifiInform` adoption installs: this companion's inform URL and an authkey per device. */
export interface UnifiHandover {
  /** This companion's inform URL. */
  readonly informUrl: string;
  /** Whether the device presenting certificate `fp` may be handed a key for `mac` (checked before any login). */
  mayHandOver(mac: string, fp: string): boolean;
  /**
   * A fresh authkey for `mac`, handed to the device presenting certificate `fp` and registered
   * before it is sent (UnifiIngest.handOverAuthkey); undefined when refused.
   */
  handOver(mac: string, fp: string): string | undefined;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/**
 * Checks that a stored credential may be sent to the device whose certificate is `fingerprint`:
 * a device entry only to the exact certificate it was saved with; a group entry only to a device
 * pinned before the entry was saved and unchanged since. Never to a changed certificate.
 */
export function storedCredentialAllowed(
  entry: { target: { mac: string } | { group: string }; certSha256?: string | undefined; createdAt: number },
  mac: string,
  fingerprint: string,
  pins: PinStore,
): boolean {
  const pin = pins.get(mac);
  if (pin === undefined || pin.sha256 !== fingerprint) return false;
  if ("mac" in entry.target) return entry.target.mac === mac && entry.certSha256 === fingerprint;
  return pin.pinnedAt <= entry.createdAt;
}

/**
 * The certificate a device must present before it is sent anything: its pin; on first contact,
 * the one the operator saw in the scan and approved (`certSha256`, when the browser sent it).
 * Without either, first contact is trust on first use.
 */
export function expectedCertificate(pin: string | undefined, seenInScan: string | undefined): string | undefined {
  return pin ?? seenInScan;
}

/**
 * The body of the device's `POST /api/v1/adopt`. For `unifiInform` the authkey is made (and
 * registered) only now, after the device presented the expected certificate and took the
 * login: it travels in this pinned request and nowhere else.
 */
function adoptRequest(
  install: NonNullable<TDiscoveryAdoptBody["install"]>,
  handover: UnifiHandover | undefined,
  mac: string,
  fp: string,
): TDeviceAdoptRequest {
  if (!("unifiInform" in install)) return install;
  const authkey = handover?.handOver(mac, fp);
  if (handover === undefined || authkey === undefined) throw new DeviceJobError("inventory_refused");
  return { informUrl: handover.informUrl, authkey };
}

/** Thrown between steps once the job was aborted (its progress stream stopped): the device is skipped. */
export class JobAbortedError extends Error {
  constructor() {
    super("job aborted");
    this.name = "JobAbortedError";
  }
}

/** Throws JobAbortedError when `signal` is aborted: called before every login and every change. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new JobAbortedError();
}

/**
 * Adopts devices over HTTPS with credentials used once: per device, scope check → GET info
 * (pinned if a pin exists, else to the certificate the scan showed when known; the device must
 * be the MAC asked for) → login → install the site key or inform URL → pin. Typed credentials
 * are never written anywhere unless `saveToVault` (then only sealed to the vault's public key).
 * Progress is reported per device. Once `signal` aborts, no device gets another request.
 */
export async function adoptDevices(
  body: TDiscoveryAdoptBody,
  deps: DeviceJobDeps,
  onProgress: (p: TDeviceJobProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  const timeoutMs = deps.timeoutMs ?? 5000;
  const install = body.install ?? deps.defaultInstall?.();
  const handover = install !== undefined && "unifiInform" in install ? deps.unifiHandover?.() : undefined;
  let pinsDirty = false;
  await runLimited(body.devices, deps.concurrency ?? 16, async (d) => {
    if (signal?.aborted === true) return onProgress({ mac: d.mac, ip: d.ip, status: "skipped" });
    const ep = { ip: d.ip, port: d.port };
    const base = { mac: d.mac, ip: d.ip };
    try {
      if (checkAddress(deps.scope, d.ip) !== undefined) throw new DeviceJobError("out_of_scope");
      if (install === undefined || ("unifiInform" in install && handover === undefined))
        throw new DeviceJobError("no_target");
      const pin = deps.pins.get(d.mac);
      const fromVault = "vaultEntryId" in body.credentials;
      let seen;
      try {
        // First contact too is held to what the operator approved: a LAN host that took the
        // address and answers with the MAC, but presents another certificate, gets no request.
        seen = await fetchInfo(ep, expectedCertificate(pin?.sha256, d.certSha256), timeoutMs);
      } catch (error) {
        // A changed certificate is accepted only for a pinned device, only for typed credentials,
        // only when asked, and only if it is the very certificate the operator saw in the scan
        // (a device that took the address since then presents another one and gets nothing).
        if (!(
          error instanceof DeviceJobError &&
          error.code === "certificate_changed" &&
          pin !== undefined &&
          body.trustNewCertificate &&
          !fromVault &&
          d.certSha256 !== undefined
        ))
          throw error;
        deps.logger.warn("device certificate changed: re-pinning as asked", { mac: d.mac });
        seen = await fetchInfo(ep, d.certSha256, timeoutMs);
      }
      const fp = seen.fingerprint;
      if (seen.info.mac !== d.mac) throw new DeviceJobError("mac_mismatch");
      // Refused before the credentials go anywhere.
      if (handover !== undefined && !handover.mayHandOver(d.mac, fp)) throw new DeviceJobError("inventory_refused");
      let secret: TVaultSecret;
      if ("vaultEntryId" in body.credentials) {
        const opened = deps.vault.open(body.credentials.vaultEntryId);
        if (opened.status === "locked") throw new DeviceJobError("vault_locked");
        if (opened.status !== "ok" || opened.secret.kind !== "password")
          throw new DeviceJobError("vault_entry_unusable");
        if (!storedCredentialAllowed(opened.meta, d.mac, fp, deps.pins))
          throw new DeviceJobError("certificate_changed");
        secret = opened.secret;
      } else {
        secret = { kind: "password", ...body.credentials.login };
      }
      const newPin = pin === undefined || pin.sha256 !== fp;
      // Asked to keep the credentials but the vault cannot take them: say so before the device
      // changes, rather than adopt it and drop what the operator wanted kept.
      if (body.saveToVault && "login" in body.credentials && deps.vault.damaged)
        throw new DeviceJobError("vault_entry_unusable");
      checkAborted(signal);
      const token = await login(ep, fp, secret.username, secret.kind === "password" ? secret.password : "", timeoutMs);
      checkAborted(signal);
      await post(ep, fp, "/api/v1/adopt", adoptRequest(install, handover, d.mac, fp), token, timeoutMs);
      const now = deps.clock.now();
      deps.pins.set(d.mac, { sha256: fp, pinnedAt: newPin ? now : (pin?.pinnedAt ?? now), adoptedAt: now });
      pinsDirty = true;
      let vaultEntryId: string | undefined;
      if (body.saveToVault && "login" in body.credentials) {
        try {
          const metas = await deps.vault.putMany([
            {
              target: { mac: d.mac },
              label: `${seen.info.hostname} (adoption)`.slice(0, 128),
              secret,
              certSha256: fp,
              origin: "adoption",
            },
          ]);
          vaultEntryId = metas?.[0]?.id;
        } catch (error) {
          // The device is adopted and pinned whatever the vault says: report it done, without an entry.
          deps.logger.warn("adoption: credentials not saved to the vault", {
            mac: d.mac,
            error: error instanceof Error ? error.name : "unknown",
          });
        }
      }
      onProgress({
        ...base,
        status: "done",
        certSha256: fp,
        pinned: newPin,
        ...(vaultEntryId !== undefined ? { vaultEntryId } : {}),
      });
    } catch (error) {
      if (error instanceof JobAbortedError) return onProgress({ ...base, status: "skipped" });
      const code = error instanceof DeviceJobError ? error.code : "device_error";
      deps.logger.warn("adoption failed", { mac: d.mac, code });
      onProgress({ ...base, status: "failed", error: code });
    }
  });
  if (pinsDirty) deps.pins.flush();
}
