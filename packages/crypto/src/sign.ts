/**
 * Signed statements: a canonical, domain-separated encoding signed with Ed25519.
 *
 * Canonical JSON (a strict subset of RFC 8785 JCS): values are strings (well-formed UTF-16),
 * safe integers (no floats, no −0), booleans, null, arrays and plain objects whose keys are
 * sorted by UTF-16 code units; no whitespace. Anything else (undefined, NaN, floats, bigint,
 * Date, Map, class instances, symbol keys, cycles, nesting deeper than 32) is refused with a
 * labelled error, so every signable value has exactly one encoding.
 *
 * Signed bytes = lp("veil/v1/signed-statement") ‖ lp(domain) ‖ lp(canonicalJson(body))
 * where lp(x) = u32be(len x) ‖ x. The domain (e.g. "veil/v1/grant") keeps a signature made for
 * one purpose from being accepted for another.
 */
import { concat, fromBase64Url, isWellFormed, lengthPrefixed, toBase64Url, utf8 } from "./encoding";
import { signEd25519, verifyEd25519 } from "./ed25519";
import { VerifyError, assertString, describe, isBytes } from "./errors";
import type { IdentityPrivateKey, IdentityPublicKey } from "./keys";

/** A value canonical JSON can encode. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A statement and its signature, ready to store or send as JSON. */
export interface SignedStatement {
  /** What the statement is for, e.g. "veil/v1/grant". */
  readonly domain: string;
  /** The statement itself. */
  readonly body: JsonValue;
  /** Ed25519 signature, base64url (86 characters). */
  readonly signature: string;
}

const STATEMENT_LABEL = "veil/v1/signed-statement";
const MAX_DEPTH = 32;
/** Domain labels: lowercase, digits, '/', '.', '-', up to 128 characters. */
export const DOMAIN_PATTERN: RegExp = /^[a-z0-9][a-z0-9./-]{0,127}$/;

function encode(value: unknown, path: string, depth: number, seen: Set<object>): string {
  if (depth > MAX_DEPTH) throw new RangeError(`${path} is nested deeper than ${MAX_DEPTH}`);
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      if (!isWellFormed(value)) throw new RangeError(`${path} contains a lone surrogate`);
      return JSON.stringify(value);
    case "number":
      if (!Number.isSafeInteger(value)) throw new RangeError(`${path} must be a safe integer, got ${value}`);
      if (Object.is(value, -0)) throw new RangeError(`${path} must not be -0`);
      return String(value);
    case "object": {
      if (seen.has(value)) throw new TypeError(`${path} is a cycle`);
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          // Plain, dense arrays only (review finding 9): a hole would encode as null, and a
          // subclass or extra own properties would not survive JSON, so the signed text would
          // not describe the value the caller holds.
          if (Object.getPrototypeOf(value) !== Array.prototype)
            throw new TypeError(`${path} must be a plain array, got ${describe(value)}`);
          if (Object.getOwnPropertySymbols(value).length > 0) throw new TypeError(`${path} has symbol keys`);
          const items: unknown[] = value;
          for (let i = 0; i < items.length; i++)
            if (!Object.hasOwn(items, i)) throw new TypeError(`${path} is a sparse array (hole at ${i})`);
          if (Object.keys(items).length !== items.length) throw new TypeError(`${path} has non-index properties`);
          return "[" + items.map((v, i) => encode(v, `${path}[${i}]`, depth + 1, seen)).join(",") + "]";
        }
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null)
          throw new TypeError(`${path} must be a plain object, got ${describe(value)}`);
        if (Object.getOwnPropertySymbols(value).length > 0) throw new TypeError(`${path} has symbol keys`);
        const keys = Object.keys(value).sort();
        const record = value as Record<string, unknown>;
        return (
          "{" +
          keys
            .map((k) => {
              if (!isWellFormed(k)) throw new RangeError(`${path} has a key with a lone surrogate`);
              return JSON.stringify(k) + ":" + encode(record[k], `${path}.${k}`, depth + 1, seen);
            })
            .join(",") +
          "}"
        );
      } finally {
        seen.delete(value);
      }
    }
    default:
      throw new TypeError(`${path} must be a JSON value, got ${describe(value)}`);
  }
}

/** Canonical JSON text of `value` (see module doc). Throws a labelled error naming the path of a bad value. */
export function canonicalJson(value: unknown): string {
  // Default JS sort compares UTF-16 code units, which is RFC 8785 §3.2.3's key order.
  return encode(value, "body", 0, new Set());
}

/** The exact bytes signed for (domain, body). */
export function statementBytes(domain: string, body: unknown): Uint8Array {
  assertString(domain, "domain", 1, 128, DOMAIN_PATTERN);
  return concat(lengthPrefixed(STATEMENT_LABEL), lengthPrefixed(domain), lengthPrefixed(utf8(canonicalJson(body))));
}

/** Signs `body` for `domain` with an identity key. */
export function signStatement(domain: string, body: JsonValue, privateKey: IdentityPrivateKey): SignedStatement {
  const bytes = statementBytes(domain, body);
  const signature = toBase64Url(signEd25519(privateKey, bytes));
  // Round-trip the body through its canonical form so the returned statement holds exactly what was signed.
  return Object.freeze({ domain, body: JSON.parse(canonicalJson(body)) as JsonValue, signature });
}

/**
 * Verifies a statement under Veil's single Ed25519 rule (ed25519.ts) and that its domain is
 * `expectedDomain`. Returns a fresh copy of the body parsed from the canonical text that was
 * verified (review finding 9), never the caller's object, which could hold getters, a proxy or
 * a prototype that reads differently from what was signed. Throws the opaque VerifyError on any
 * failure of the statement (wrong domain, bad signature, malformed signature, unencodable body).
 */
export function verifyStatement(
  statement: SignedStatement,
  expectedDomain: string,
  publicKey: IdentityPublicKey,
): JsonValue {
  assertString(expectedDomain, "expectedDomain", 1, 128, DOMAIN_PATTERN);
  if (!isBytes(publicKey)) throw new TypeError(`publicKey must be a Uint8Array, got ${describe(publicKey)}`);
  if (typeof statement !== "object" || statement === null) throw new VerifyError();
  const { domain, body, signature } = statement;
  if (domain !== expectedDomain || typeof signature !== "string") throw new VerifyError();
  let text: string;
  let sig: Uint8Array;
  try {
    text = canonicalJson(body);
    sig = fromBase64Url(signature);
  } catch {
    throw new VerifyError();
  }
  const bytes = concat(lengthPrefixed(STATEMENT_LABEL), lengthPrefixed(domain), lengthPrefixed(utf8(text)));
  if (!verifyEd25519(publicKey, bytes, sig)) throw new VerifyError();
  return JSON.parse(text) as JsonValue;
}
