/**
 * Controller replies of the UniFi dialect (`noop`, `setparam`, `reboot`, `cmd`, `upgrade`,
 * `setdefault`) and the `mgmt_cfg` text a setparam carries. Replies are encoded with
 * encodeInformJson under the key the device used for its request.
 */
import { randomBytes } from "node:crypto";
import { fromHex, toHex } from "./bytes";
import { DeviceCodecError } from "./errors";
import { ZUnifiMgmtCfgSchema, type TUnifiMgmtCfg, type TUnifiReply } from "@veil/protocol";

const now = (clock: () => number): string => String(Math.floor(clock()));

/** `noop`: nothing to do, inform again in `interval` seconds. */
export function noopReply(interval: number, clock: () => number = Date.now): TUnifiReply {
  return { _type: "noop", interval, server_time_in_utc: now(clock) };
}

/** `setparam` for adoption: the device's new authkey (32 hex) and, optionally, a new inform URL. */
export function adoptReply(authkey: string, informUrl?: string, clock: () => number = Date.now): TUnifiReply {
  if (!/^[0-9a-f]{32}$/.test(authkey)) throw new TypeError("authkey must be 32 lower-case hex characters");
  const lines = [`mgmt.authkey=${authkey}`];
  if (informUrl !== undefined) lines.push(`mgmt.url=${informUrl}`);
  return { _type: "setparam", mgmt_cfg: `${lines.join("\n")}\n`, server_time_in_utc: now(clock) };
}

/** `reboot`. */
export function rebootReply(clock: () => number = Date.now): TUnifiReply {
  return { _type: "reboot", server_time_in_utc: now(clock) };
}

/** `cmd`: run `cmd` on the device; `id` comes back in `cmd_results`. */
export function cmdReply(id: string, cmd: string, clock: () => number = Date.now): TUnifiReply {
  return { _type: "cmd", _id: id, cmd, server_time_in_utc: now(clock) };
}

/** `upgrade`: firmware URL, its md5 and version. */
export function upgradeReply(url: string, md5sum: string, version: string): TUnifiReply {
  return { _type: "upgrade", url, md5sum, version };
}

/** `setdefault`: factory reset, back to the default key. */
export function setdefaultReply(): TUnifiReply {
  return { _type: "setdefault" };
}

/**
 * Parses `mgmt_cfg` (newline-separated `key=value`, at most 128 lines) and validates the keys
 * Veil reads. Throws DeviceCodecError("malformed") when the authkey is missing or invalid.
 */
export function parseMgmtCfg(text: string): TUnifiMgmtCfg {
  const entries: Record<string, string> = {};
  const lines = text.split("\n");
  if (lines.length > 128) throw new DeviceCodecError("too_large", "mgmt_cfg has too many lines");
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq > 0) entries[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const parsed = ZUnifiMgmtCfgSchema.safeParse(entries);
  if (!parsed.success) throw new DeviceCodecError("malformed", "mgmt_cfg lacks a valid mgmt.authkey");
  return parsed.data;
}

/** A fresh random authkey: 16 random bytes as 32 lower-case hex characters. */
export function generateAuthkey(): string {
  return toHex(randomBytes(16));
}

/** The 16-byte inform key of a 32-hex authkey. */
export function authkeyToKey(authkey: string): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(authkey)) throw new TypeError("authkey must be 32 hex characters");
  return fromHex(authkey, "authkey");
}
