/**
 * The short "what was it about" of an audit record, built from a request body by allowlist:
 * only named fields, and only values that match a strict non-secret pattern (MAC, id, IPv4
 * address or range, small integer). Passwords, keys, notes, secrets and terminal bytes have no
 * field here and could not match a pattern if they did.
 */

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const IPV4_OR_RANGE = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/;
const GROUP = /^[A-Za-z0-9 ._-]{1,64}$/;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown, pattern: RegExp): string | undefined =>
  typeof v === "string" && pattern.test(v) ? v : undefined;

/** A list summary: count and the first safe item. */
function list(v: unknown, item: (x: unknown) => string | undefined): string | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const first = item(v[0]);
  return v.length === 1 ? first : `${v.length}${first === undefined ? "" : ` (first ${first})`}`;
}

const deviceMac = (d: unknown): string | undefined => (isObj(d) ? str(d.mac, MAC) : str(d, MAC));

/** Field → how to summarize it. Order is the order in the summary. */
const FIELDS: readonly [string, (v: unknown) => string | undefined][] = [
  ["mac", (v) => str(v, MAC)],
  ["devices", (v) => list(v, deviceMac)],
  ["macs", (v) => list(v, deviceMac)],
  ["targets", (v) => list(v, (t) => str(t, IPV4_OR_RANGE))],
  ["target", (v) => (isObj(v) ? (str(v.mac, MAC) ?? str(v.group, GROUP)) : undefined)],
  ["entryId", (v) => str(v, ID)],
  ["sessionId", (v) => str(v, ID)],
  ["subscriptionId", (v) => str(v, ID)],
  ["before", (v) => (typeof v === "number" && Number.isSafeInteger(v) ? String(v) : undefined)],
];

/** `mac=…; devices=3 (first …)`, or null when nothing safe is in the body. At most 160 characters. */
export function summarizeTarget(body: unknown): string | null {
  if (!isObj(body)) return null;
  const parts: string[] = [];
  for (const [name, fn] of FIELDS) {
    if (!Object.hasOwn(body, name)) continue;
    const value = fn(body[name]);
    if (value !== undefined) parts.push(`${name}=${value}`);
  }
  const text = parts.join("; ");
  return text === "" ? null : text.slice(0, 160);
}
