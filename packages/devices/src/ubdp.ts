/**
 * Ubiquiti discovery protocol (UBDP, UDP 10001): probes and replies. TLV types and lengths
 * follow Wireshark's epan/dissectors/packet-ubdp.c (type 0x02 is MAC then IPv4, uptime is u32).
 *
 *   reply: version u8 | command u8 | length u16 BE (= bytes after the 4-byte header) | TLVs
 *   TLV:   type u8 | length u16 BE | value
 */
import { bytesToMac, macToBytes, view } from "./bytes";
import { check, DeviceCodecError } from "./errors";

/** The UDP port devices listen on. */
export const UBDP_PORT = 10001;
/** Largest UBDP datagram accepted or produced (a reply is a few hundred bytes). */
export const UBDP_MAX_PACKET = 1500;
/** Most TLVs read from one reply. */
export const UBDP_MAX_TLVS = 64;

/** A v1 probe: version 1, command 0, length 0. */
export const UBDP_PROBE_V1: Uint8Array = Uint8Array.of(0x01, 0x00, 0x00, 0x00);
/** A v2 probe: version 2, command 8, length 0. */
export const UBDP_PROBE_V2: Uint8Array = Uint8Array.of(0x02, 0x08, 0x00, 0x00);

/** TLV type codes (packet-ubdp.c names in comments). */
export const UbdpTlv = {
  MAC: 0x01, // UB_HW_ADDR
  MAC_IP: 0x02, // UB_HW_IP_ADDR, 10 bytes MAC then IPv4 (4 bytes: IPv4 only)
  FIRMWARE_FULL: 0x03,
  IP: 0x04, // UB_HW_IP_ADDR_2
  MAC_2: 0x05,
  UPTIME: 0x0a,
  HOSTNAME: 0x0b,
  PLATFORM: 0x0c,
  ESSID: 0x0d,
  WLAN_MODE: 0x0e,
  SYSTEM_ID: 0x10,
  SEQUENCE: 0x12,
  MAC_3: 0x13,
  MODEL_TYPE: 0x14,
  MODEL: 0x15,
  FIRMWARE: 0x16,
  DEFAULT: 0x17,
  LOCATING: 0x18,
  DHCP_CLIENT: 0x19,
  DHCP_BOUND: 0x1a,
  PLATFORM_VERSION: 0x1b,
  SSH_PORT: 0x1c,
} as const;

/** Parses a probe; returns its version (1 or 2) or null when `packet` is not a probe. */
export function parseUbdpProbe(packet: Uint8Array): 1 | 2 | null {
  if (packet.length !== 4) return null;
  if (packet[0] === 1 && packet[1] === 0 && packet[2] === 0 && packet[3] === 0) return 1;
  if (packet[0] === 2 && packet[1] === 8 && packet[2] === 0 && packet[3] === 0) return 2;
  return null;
}

/** What a device says about itself in a reply. Every field optional on the wire. */
export interface UbdpInfo {
  mac?: string;
  /** Interface addresses from 0x02 TLVs, in order. */
  addresses?: { mac: string; ip: string }[];
  ip?: string;
  firmware?: string;
  firmwareFull?: string;
  uptime?: number;
  hostname?: string;
  platform?: string;
  essid?: string;
  model?: string;
  modelType?: string;
  systemId?: number;
  sequence?: number;
  isDefault?: boolean;
  locating?: boolean;
  sshPort?: number;
}

/** A parsed reply: header fields, decoded info, and every TLV (including unknown types). */
export interface UbdpReply {
  version: 1 | 2;
  command: number;
  info: UbdpInfo;
  tlvs: { type: number; value: Uint8Array }[];
}

const ip4 = (b: Uint8Array): string => Array.from(b).join(".");
const ascii = (b: Uint8Array): string => new TextDecoder("utf-8", { fatal: false }).decode(b);
const bool = (b: Uint8Array): boolean => b.some((x) => x !== 0);

function decodeTlv(info: UbdpInfo, type: number, v: Uint8Array): void {
  const len = v.length;
  switch (type) {
    case UbdpTlv.MAC:
    case UbdpTlv.MAC_2:
    case UbdpTlv.MAC_3:
      if (len === 6) info.mac ??= bytesToMac(v);
      return;
    case UbdpTlv.MAC_IP:
    case UbdpTlv.IP:
      if (len === 10) (info.addresses ??= []).push({ mac: bytesToMac(v.subarray(0, 6)), ip: ip4(v.subarray(6)) });
      else if (len === 4) info.ip ??= ip4(v);
      return;
    case UbdpTlv.UPTIME:
      if (len === 4) info.uptime = view(v).getUint32(0);
      return;
    case UbdpTlv.SYSTEM_ID:
      if (len === 2) info.systemId = view(v).getUint16(0);
      return;
    case UbdpTlv.SEQUENCE:
      if (len === 4) info.sequence = view(v).getUint32(0);
      return;
    case UbdpTlv.SSH_PORT:
      if (len === 2) info.sshPort = view(v).getUint16(0);
      return;
    case UbdpTlv.DEFAULT:
      if (len === 1 || len === 4) info.isDefault = bool(v);
      return;
    case UbdpTlv.LOCATING:
      if (len === 1 || len === 4) info.locating = bool(v);
      return;
    case UbdpTlv.FIRMWARE_FULL:
      info.firmwareFull = ascii(v);
      return;
    case UbdpTlv.HOSTNAME:
      info.hostname = ascii(v);
      return;
    case UbdpTlv.PLATFORM:
      info.platform = ascii(v);
      return;
    case UbdpTlv.ESSID:
      info.essid = ascii(v);
      return;
    case UbdpTlv.MODEL_TYPE:
      info.modelType = ascii(v);
      return;
    case UbdpTlv.MODEL:
      info.model = ascii(v);
      return;
    case UbdpTlv.FIRMWARE:
      info.firmware = ascii(v);
      return;
    default:
      return;
  }
}

/**
 * Parses a reply. Rejects (DeviceCodecError) a bad version, a length field that disagrees with
 * the datagram size, a TLV running past the end, too many TLVs or an oversize datagram.
 * Zero-length TLVs are skipped; TLVs of known type but unexpected length are kept raw only.
 */
export function parseUbdpReply(packet: Uint8Array): UbdpReply {
  if (!(packet instanceof Uint8Array)) throw new TypeError("packet must be a Uint8Array");
  check(packet.length <= UBDP_MAX_PACKET, "UBDP packet too large", "too_large");
  check(packet.length >= 4, "UBDP packet shorter than its header");
  const version = packet[0];
  check(version === 1 || version === 2, "unknown UBDP version", "unsupported");
  const command = packet[1] ?? 0;
  check(view(packet).getUint16(2) === packet.length - 4, "UBDP length field disagrees with packet size");
  const info: UbdpInfo = {};
  const tlvs: UbdpReply["tlvs"] = [];
  let off = 4;
  while (off < packet.length) {
    check(off + 3 <= packet.length, "truncated UBDP TLV header");
    const type = packet[off] ?? 0;
    const len = view(packet).getUint16(off + 1);
    off += 3;
    check(off + len <= packet.length, "UBDP TLV runs past the end");
    check(tlvs.length < UBDP_MAX_TLVS, "too many UBDP TLVs", "too_large");
    const value = packet.slice(off, off + len);
    off += len;
    if (len === 0) continue;
    tlvs.push({ type, value });
    decodeTlv(info, type, value);
  }
  return { version, command, info, tlvs };
}

function ipToBytes(ip: string): Uint8Array {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new TypeError("ip must be dotted IPv4");
  return Uint8Array.from(parts);
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  view(b).setUint32(0, n >>> 0);
  return b;
};
const u16 = (n: number): Uint8Array => Uint8Array.of((n >>> 8) & 0xff, n & 0xff);

/**
 * Builds a reply to a probe of `version`: v1 replies use command 0, v2 replies command 0x09
 * (response; 0x06 is an unsolicited announce). TLVs are emitted in type order.
 */
export function buildUbdpReply(
  info: UbdpInfo,
  version: 1 | 2 = 1,
  command: number = version === 1 ? 0 : 0x09,
): Uint8Array {
  const enc = new TextEncoder();
  const tlvs: [number, Uint8Array][] = [];
  if (info.mac !== undefined) tlvs.push([UbdpTlv.MAC, macToBytes(info.mac)]);
  for (const a of info.addresses ?? [])
    tlvs.push([UbdpTlv.MAC_IP, Uint8Array.of(...macToBytes(a.mac), ...ipToBytes(a.ip))]);
  if (info.firmwareFull !== undefined) tlvs.push([UbdpTlv.FIRMWARE_FULL, enc.encode(info.firmwareFull)]);
  if (info.uptime !== undefined) tlvs.push([UbdpTlv.UPTIME, u32(info.uptime)]);
  if (info.hostname !== undefined) tlvs.push([UbdpTlv.HOSTNAME, enc.encode(info.hostname)]);
  if (info.platform !== undefined) tlvs.push([UbdpTlv.PLATFORM, enc.encode(info.platform)]);
  if (info.essid !== undefined) tlvs.push([UbdpTlv.ESSID, enc.encode(info.essid)]);
  if (info.systemId !== undefined) tlvs.push([UbdpTlv.SYSTEM_ID, u16(info.systemId)]);
  if (info.sequence !== undefined) tlvs.push([UbdpTlv.SEQUENCE, u32(info.sequence)]);
  if (info.modelType !== undefined) tlvs.push([UbdpTlv.MODEL_TYPE, enc.encode(info.modelType)]);
  if (info.model !== undefined) tlvs.push([UbdpTlv.MODEL, enc.encode(info.model)]);
  if (info.firmware !== undefined) tlvs.push([UbdpTlv.FIRMWARE, enc.encode(info.firmware)]);
  if (info.isDefault !== undefined) tlvs.push([UbdpTlv.DEFAULT, Uint8Array.of(info.isDefault ? 1 : 0)]);
  if (info.locating !== undefined) tlvs.push([UbdpTlv.LOCATING, Uint8Array.of(info.locating ? 1 : 0)]);
  if (info.sshPort !== undefined) tlvs.push([UbdpTlv.SSH_PORT, u16(info.sshPort)]);
  const body = tlvs.reduce((n, [, v]) => n + 3 + v.length, 0);
  if (4 + body > UBDP_MAX_PACKET) throw new DeviceCodecError("too_large", "UBDP reply too large");
  for (const [, v] of tlvs) if (v.length > 0xffff) throw new RangeError("UBDP TLV value too long");
  const out = new Uint8Array(4 + body);
  out[0] = version;
  out[1] = command;
  view(out).setUint16(2, body);
  let off = 4;
  for (const [t, v] of tlvs) {
    out[off] = t;
    view(out).setUint16(off + 1, v.length);
    out.set(v, off + 3);
    off += 3 + v.length;
  }
  return out;
}
