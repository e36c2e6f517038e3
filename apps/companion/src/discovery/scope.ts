import { lookup } from "node:dns/promises";
import { isIPv4, isIP } from "node:net";
import { hostAddresses } from "../host-addresses";
import type { Logger } from "../log";
import { MAX_SCAN_HOSTS, type TScopeRefusal } from "../protocol";

/**
 * Scan scope, decided on the site (SSRF guard): the companion's local configuration lists the
 * IPv4 ranges it may probe (VEIL_SCAN_RANGES; default: its own interfaces' IPv4 subnets).
 * Loopback, link-local, 0/8, multicast and reserved space are refused unless a range in the
 * local configuration names them; the cloud-metadata address 169.254.169.254 only if the
 * configuration names exactly that address (/32). Host names are resolved first, every address
 * is checked, and only the checked addresses are dialled (no second lookup: no TOCTOU).
 */

/** One IPv4 range as [first, last] inclusive, unsigned 32-bit. */
export interface Ipv4Range {
  readonly first: number;
  readonly last: number;
  /** As written (for messages). */
  readonly text: string;
}

/** The site's scope configuration. */
export interface ScopeConfig {
  /** Ranges the local configuration allows. */
  readonly allowed: readonly Ipv4Range[];
  /** True when `allowed` came from explicit configuration (not the interfaces' defaults). */
  readonly explicit: boolean;
}

/** Resolves a host name to every address (injectable for tests). */
export type Resolver = (host: string) => Promise<string[]>;

const defaultResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export function ipToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses `a.b.c.d` or `a.b.c.d/n`; undefined when malformed. */
export function parseCidr(text: string): Ipv4Range | undefined {
  const [ip, bits, extra] = text.trim().split("/");
  if (extra !== undefined || ip === undefined || !isIPv4(ip)) return undefined;
  const prefix = bits === undefined ? 32 : /^\d{1,2}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= 32)) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const first = (ipToInt(ip) & mask) >>> 0;
  const last = (first | (~mask >>> 0)) >>> 0;
  return { first, last, text: text.trim() };
}

const SPECIAL: readonly { range: Ipv4Range; reason: TScopeRefusal }[] = [
  ["169.254.169.254/32", "metadata"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link_local"],
  ["0.0.0.0/8", "reserved"],
  ["224.0.0.0/4", "reserved"],
  ["240.0.0.0/4", "reserved"],
].map(([c, reason]) => ({ range: parseCidr(c as string) as Ipv4Range, reason: reason as TScopeRefusal }));

const contains = (r: Ipv4Range, n: number): boolean => n >= r.first && n <= r.last;

/** Parses VEIL_SCAN_RANGES (comma- or space-separated CIDRs); throws on a malformed one. */
export function parseScanRanges(text: string): Ipv4Range[] {
  const out: Ipv4Range[] = [];
  for (const part of text.split(/[\s,]+/).filter((p) => p !== "")) {
    const r = parseCidr(part);
    if (r === undefined) throw new Error(`VEIL_SCAN_RANGES: ${part} is not an IPv4 CIDR`);
    out.push(r);
  }
  return out;
}

/**
 * The default scope: the IPv4 subnets of this host's non-internal interfaces (none when the host
 * will not list them: every address is then out of scope, and `logger` says how to set one).
 */
export function interfaceRanges(logger?: Logger): Ipv4Range[] {
  const out: Ipv4Range[] = [];
  const addresses = hostAddresses((error) =>
    logger?.warn("discovery: cannot list this host's interfaces, so nothing is in scope; set VEIL_SCAN_RANGES", {
      error: error instanceof Error ? error.message : "unknown",
    }),
  );
  for (const a of addresses) {
    if (a.family !== "IPv4" || a.internal || a.cidr === null) continue;
    const r = parseCidr(a.cidr);
    if (r !== undefined) out.push(r);
  }
  return out;
}

/** Builds the scope from the configured text (undefined or empty: interface defaults). */
export function scopeFromConfig(ranges: string | undefined, logger?: Logger): ScopeConfig {
  if (ranges === undefined || ranges.trim() === "") return { allowed: interfaceRanges(logger), explicit: false };
  return { allowed: parseScanRanges(ranges), explicit: true };
}

/** Why one IPv4 address may not be dialled, or undefined when it may. */
export function checkAddress(scope: ScopeConfig, ip: string): TScopeRefusal | undefined {
  if (isIP(ip) === 6) return "ipv6";
  if (!isIPv4(ip)) return "malformed";
  const n = ipToInt(ip);
  const special = SPECIAL.find((s) => contains(s.range, n));
  const inAllowed = scope.allowed.filter((r) => contains(r, n));
  if (special !== undefined) {
    if (!scope.explicit) return special.reason;
    // The metadata address only when named exactly; other special space when a configured range covers it.
    if (special.reason === "metadata")
      return inAllowed.some((r) => r.first === n && r.last === n) ? undefined : "metadata";
    return inAllowed.length > 0 ? undefined : special.reason;
  }
  return inAllowed.length > 0 ? undefined : "not_allowed";
}

/** A resolved, checked scan plan: the exact addresses to dial. */
export interface ScanPlan {
  readonly hosts: string[];
  readonly refused: { target: string; reason: TScopeRefusal }[];
}

function hostsOf(r: Ipv4Range): number[] {
  const size = r.last - r.first + 1;
  // Skip network and broadcast addresses of /30 and larger ranges.
  if (size >= 4) return Array.from({ length: size - 2 }, (_, i) => r.first + 1 + i);
  return Array.from({ length: size }, (_, i) => r.first + i);
}

/**
 * Resolves targets (CIDRs, addresses, names) into the checked addresses to dial. Every address
 * of every target must be in scope; names whose resolution includes any refused address are
 * refused whole. More than `maxHosts` (≤ 1,024) addresses in total refuses the scan.
 */
export async function planScan(
  scope: ScopeConfig,
  targets: readonly string[] | undefined,
  options: { resolver?: Resolver; maxHosts?: number } = {},
): Promise<ScanPlan> {
  const maxHosts = Math.min(options.maxHosts ?? MAX_SCAN_HOSTS, MAX_SCAN_HOSTS);
  const resolver = options.resolver ?? defaultResolver;
  const refused: { target: string; reason: TScopeRefusal }[] = [];
  const hosts = new Set<number>();
  const list = targets ?? scope.allowed.map((r) => r.text);
  if (list.length === 0) refused.push({ target: "(default)", reason: "not_allowed" });
  for (const target of list) {
    let addresses: number[];
    const cidr = parseCidr(target);
    if (cidr !== undefined) {
      if (cidr.last - cidr.first + 1 > maxHosts + 2) {
        refused.push({ target, reason: "too_many_hosts" });
        continue;
      }
      addresses = hostsOf(cidr);
    } else if (isIP(target) === 6 || target.includes(":")) {
      refused.push({ target, reason: "ipv6" });
      continue;
    } else if (
      /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(target) &&
      !/^[\d.]+$/.test(target)
    ) {
      let resolved: string[];
      try {
        resolved = await resolver(target);
      } catch {
        refused.push({ target, reason: "unresolvable" });
        continue;
      }
      if (resolved.length === 0) {
        refused.push({ target, reason: "unresolvable" });
        continue;
      }
      const bad = resolved.map((a) => checkAddress(scope, a)).find((r) => r !== undefined);
      if (bad !== undefined) {
        refused.push({ target, reason: bad });
        continue;
      }
      addresses = resolved.map(ipToInt);
    } else {
      refused.push({ target, reason: "malformed" });
      continue;
    }
    const bad = addresses.map((n) => checkAddress(scope, intToIp(n))).find((r) => r !== undefined);
    if (bad !== undefined) {
      refused.push({ target, reason: bad });
      continue;
    }
    for (const n of addresses) hosts.add(n);
  }
  if (hosts.size > maxHosts) refused.push({ target: "(total)", reason: "too_many_hosts" });
  return { hosts: refused.length > 0 ? [] : [...hosts].map(intToIp), refused };
}
