import { randomBytes } from "node:crypto";
import type { z } from "zod";
import type { TDeviceJobProgress, TVaultEntryMeta, ZVaultGenerateBodySchema } from "../protocol";
import { checkAddress } from "../discovery/scope";
import { DeviceJobError, fetchInfo, hasSeveralAccounts, login, post } from "../adoption/device-admin-client";
import {
  checkAborted,
  expectedCertificate,
  JobAbortedError,
  runLimited,
  storedCredentialAllowed,
  type DeviceJobDeps,
} from "../adoption/adopt-devices";
import { VaultRefusedError } from "./vault-refused";

export type TVaultGenerateBody = z.output<typeof ZVaultGenerateBodySchema>;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A uniformly random password over 64 symbols (6 bits each, no modulo bias): 24 chars = 144 bits. */
export function generatePassword(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 63];
  bytes.fill(0);
  return out;
}

interface Prepared {
  mac: string;
  ip: string;
  ep: { ip: string; port: number };
  fp: string;
  token: string;
  username: string;
  password: string;
  label: string;
  pinned: boolean;
  entryId?: string;
}

/**
 * Bulk credential generation: for each device, log in (with the given current credentials, or
 * the device's own vault entry — which needs the unlocked vault and an unchanged certificate),
 * make a unique strong password, seal it into the vault as `pending` BEFORE applying it (so a
 * crash can never leave a device with a password nobody holds), apply it over pinned HTTPS,
 * then mark it `active` and the device's older entries `superseded`. Works while the vault is
 * locked when `login` is given. Devices reporting several accounts are skipped
 * (`several_accounts`): only the account we logged in with could be changed, and silently
 * leaving the others on old credentials would be misleading. Chunks of 64 devices share one
 * vault write per phase. First contact is held to the certificate the scan showed (`certSha256`)
 * when the request names one. Once `signal` aborts, no device is logged in to or changed, and
 * the entries written ahead for devices left unchanged are removed.
 */
export async function generateCredentials(
  body: TVaultGenerateBody,
  deps: DeviceJobDeps,
  onProgress: (p: TDeviceJobProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  const timeoutMs = deps.timeoutMs ?? 5000;
  const limit = deps.concurrency ?? 16;
  const fail = (mac: string, ip: string, error: unknown): void => {
    if (error instanceof JobAbortedError) return onProgress({ mac, ip, status: "skipped" });
    const code = error instanceof DeviceJobError ? error.code : "device_error";
    onProgress({ mac, ip, status: code === "several_accounts" ? "skipped" : "failed", error: code });
  };
  if (!deps.vault.initialized) {
    for (const d of body.devices) onProgress({ mac: d.mac, ip: d.ip, status: "failed", error: "vault_entry_unusable" });
    return;
  }
  let pinsDirty = false;
  for (let i = 0; i < body.devices.length; i += 64) {
    const chunk = body.devices.slice(i, i + 64);
    const prepared: Prepared[] = [];
    await runLimited(chunk, limit, async (d) => {
      if (signal?.aborted === true) return onProgress({ mac: d.mac, ip: d.ip, status: "skipped" });
      const ep = { ip: d.ip, port: d.port };
      try {
        if (checkAddress(deps.scope, d.ip) !== undefined) throw new DeviceJobError("out_of_scope");
        const pin = deps.pins.get(d.mac);
        const seen = await fetchInfo(ep, expectedCertificate(pin?.sha256, d.certSha256), timeoutMs);
        if (seen.info.mac !== d.mac) throw new DeviceJobError("mac_mismatch");
        if (hasSeveralAccounts(seen.raw)) throw new DeviceJobError("several_accounts");
        let current: { username: string; password: string };
        if (body.login !== undefined) current = body.login;
        else {
          const meta = deps.vault.activeFor(d.mac);
          if (meta === undefined) throw new DeviceJobError("vault_entry_unusable");
          const opened = deps.vault.open(meta.id);
          if (opened.status === "locked") throw new DeviceJobError("vault_locked");
          if (opened.status !== "ok" || opened.secret.kind !== "password")
            throw new DeviceJobError("vault_entry_unusable");
          if (!storedCredentialAllowed(opened.meta, d.mac, seen.fingerprint, deps.pins))
            throw new DeviceJobError("certificate_changed");
          current = opened.secret;
        }
        checkAborted(signal);
        const token = await login(ep, seen.fingerprint, current.username, current.password, timeoutMs);
        if (pin === undefined) {
          deps.pins.set(d.mac, { sha256: seen.fingerprint, pinnedAt: deps.clock.now() });
          pinsDirty = true;
        }
        prepared.push({
          mac: d.mac,
          ip: d.ip,
          ep,
          fp: seen.fingerprint,
          token,
          username: body.username ?? current.username,
          password: generatePassword(body.length),
          label: `${seen.info.hostname} (generated)`.slice(0, 128),
          pinned: pin === undefined,
        });
      } catch (error) {
        fail(d.mac, d.ip, error);
      }
    });
    if (pinsDirty) deps.pins.flush();
    pinsDirty = false;
    if (prepared.length === 0) continue;
    const drop = (error: unknown): void => {
      for (const p of prepared) {
        fail(p.mac, p.ip, error);
        p.password = "";
        p.token = "";
      }
    };
    if (signal?.aborted === true) {
      drop(new JobAbortedError());
      continue;
    }
    // Write-ahead: sealed and on disk before any device changes.
    let metas: TVaultEntryMeta[] | undefined;
    try {
      metas = await deps.vault.putMany(
        prepared.map((p) => ({
          target: { mac: p.mac },
          label: p.label,
          secret: { kind: "password" as const, username: p.username, password: p.password },
          certSha256: p.fp,
          state: "pending" as const,
          origin: "generated" as const,
        })),
      );
    } catch (error) {
      // The vault refused (full) or the write failed (the entries are in neither memory nor the
      // file): no device of this chunk is changed, as no password may be applied that the vault
      // does not hold.
      deps.logger.warn("credential generation: the vault did not take the new entries", {
        reason: error instanceof VaultRefusedError ? error.reason : error instanceof Error ? error.name : "unknown",
      });
      drop(new DeviceJobError("vault_entry_unusable"));
      continue;
    }
    if (metas === undefined) throw new Error("vault disappeared");
    prepared.forEach((p, k) => (p.entryId = metas[k]?.id));
    const states = new Map<string, TVaultEntryMeta["state"]>();
    const unused = new Set<string>();
    await runLimited(prepared, limit, async (p) => {
      try {
        if (signal?.aborted === true) {
          // Never applied: its entry holds a password no device has.
          if (p.entryId !== undefined) unused.add(p.entryId);
          throw new JobAbortedError();
        }
        await post(
          p.ep,
          p.fp,
          "/api/v1/credentials",
          { username: p.username, password: p.password },
          p.token,
          timeoutMs,
        );
        for (const old of deps.vault.list({ mac: p.mac, offset: 0, limit: 1_000_000 }).entries)
          if (old.state === "active" && old.id !== p.entryId) states.set(old.id, "superseded");
        if (p.entryId !== undefined) states.set(p.entryId, "active");
        onProgress({
          mac: p.mac,
          ip: p.ip,
          status: "done",
          certSha256: p.fp,
          pinned: p.pinned,
          ...(p.entryId !== undefined ? { vaultEntryId: p.entryId } : {}),
        });
      } catch (error) {
        // Outcome unknown (the device may have applied it): the entry stays `pending`.
        fail(p.mac, p.ip, error);
      } finally {
        p.password = "";
        p.token = "";
      }
    });
    await deps.vault.setStates(states);
    if (unused.size > 0) await deps.vault.deleteMany(unused);
  }
}
