import type { IncomingMessage } from "node:http";
import { type BlockList, isIP } from "node:net";

function normalise(address: string | undefined): string {
  if (!address) return "unknown";
  const a = address.trim();
  return a.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 6 ? "ipv6" : "ipv4");
}

/**
 * The client's IP. X-Forwarded-For is read only when the TCP peer is a trusted proxy, and then
 * from the right: the first address that is not itself a trusted proxy is the client. Anything
 * a client writes into the header further left is ignored.
 */
export function clientIp(req: IncomingMessage, trusted: BlockList): string {
  const peer = normalise(req.socket.remoteAddress);
  if (!isTrusted(trusted, peer)) return peer;
  const header = req.headers["x-forwarded-for"];
  const raw = Array.isArray(header) ? header.join(",") : (header ?? "");
  const hops = raw
    .split(",")
    .map((h) => normalise(h))
    .filter((h) => h !== "unknown" && h !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? "";
    if (isIP(hop) === 0) return peer;
    if (!isTrusted(trusted, hop)) return hop;
  }
  return hops[0] ?? peer;
}

/** The eight 16-bit groups of a valid IPv6 address (zone removed), or null for anything else. */
function ipv6Groups(address: string): number[] | null {
  const bare = address.split("%")[0] ?? "";
  if (isIP(bare) !== 6) return null;
  const groupsOf = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((g) => {
          if (!g.includes(".")) return [parseInt(g, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = bare.indexOf("::");
  if (gap === -1) return groupsOf(bare);
  const head = groupsOf(bare.slice(0, gap));
  const tail = groupsOf(bare.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * The key a client address is rate-limited under. An IPv6 client usually holds a whole /64 (one
 * customer line, one cloud VM), so keying each address apart would give it 2^64 budgets: an IPv6
 * client is counted by its /64. An IPv4-mapped IPv6 address counts as the IPv4 address it maps,
 * in whichever notation it arrives. Anything else (IPv4, "unknown") is its own key.
 */
export function rateLimitKeyForIp(address: string): string {
  const groups = ipv6Groups(address);
  if (!groups) return address;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff)
    return [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff].join(".");
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}
