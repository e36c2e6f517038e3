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
