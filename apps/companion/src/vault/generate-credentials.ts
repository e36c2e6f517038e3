import { randomBytes } from "node:crypto";
import type { z } from "zod";
import type { TDeviceJobProgress, TVaultEntryMeta, ZVaultGenerateBodySchema } from "../protocol";
import { checkAddress } from "../discovery/scope";
import { DeviceJobError, fetchInfo, hasSeveralAccounts, login, post } from "../adoption/device-admin-client";
import { runLimited, storedCredentialAllowed, type DeviceJobDeps } from "../adoption/adopt-devices";

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
 * vault write per phase.
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
        const seen = await fetchInfo(ep, pin?.sha256, timeoutMs);
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
    // Write-ahead: sealed and on disk before any device changes.
    const metas = deps.vault.putMany(
      prepared.map((p) => ({
        target: { mac: p.mac },
        label: p.label,
        secret: { kind: "password" as const, username: p.username, password: p.password },
        certSha256: p.fp,
        state: "pending" as const,
        origin: "generated" as const,
      })),
    );
    if (metas === undefined) throw new Error("vault disappeared");
    prepared.forEach((p, k) => (p.entryId = metas[k]?.id));
    const states = new Map<string, TVaultEntryMeta["state"]>();
    await runLimited(prepared, limit, async (p) => {
      try {
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
    deps.vault.setStates(states);
  }
}
