/**
 * The session prologue (Noise §6): bytes both parties hash into h before the first message, so
 * a handshake only completes when the browser and the companion agree on all of them. It binds
 * a domain label, the protocol version, the instance id and the account id; a relay that
 * rewrites any of them (a downgrade, or splicing a session onto another instance or account)
 * makes the first handshake message fail to authenticate.
 *
 * Layout (docs/PROTOCOL-SESSION.md, "Prologue"), every length big-endian:
 *
 *   u16 len ‖ label (ASCII)  ‖  u32 protocolVersion  ‖  u16 len ‖ instanceId (UTF-8)  ‖
 *   u16 len ‖ accountId (UTF-8)
 *
 * Every variable-length field is length-prefixed, so no two distinct inputs encode alike.
 *
 * The rekey interval is deliberately NOT bound here (review finding 9): it is each end's local
 * configuration, which the relay cannot see or change, and both ends use
 * SESSION_DEFAULT_REKEY_INTERVAL; binding it would change every prologue (and the independently
 * computed regression vector) to catch only a misconfiguration between two honest ends, which
 * already fails closed: the first frame at a rekey boundary is a SessionForgeryError and the
 * session state does not move. See docs/PROTOCOL-SESSION.md, "Rekey".
 */
import { assertInteger } from "./validate";

/** Domain-separation label at the start of every Veil session prologue. */
export const SESSION_PROLOGUE_LABEL = "veil/e2e-session/prologue/v1";
/** Longest instance or account id accepted, in UTF-8 bytes. */
export const SESSION_MAX_ID_BYTES = 1024;
/** Largest protocol version the prologue can carry (u32). */
export const SESSION_MAX_PROTOCOL_VERSION = 0xffff_ffff;

/** What a session is bound to. Both ends must pass the same values. */
export interface SessionBinding {
  /** packages/protocol's SESSION_PROTOCOL_VERSION as spoken by this end (integer, 0 … 2^32-1). */
  protocolVersion: number;
  /** The instance (companion) id, as in the instance certificate. */
  instanceId: string;
  /** The account id, as in the grant. */
  accountId: string;
}

function encodeId(value: unknown, field: string): Uint8Array {
  if (typeof value !== "string") throw new TypeError(`${field} must be a string`);
  if (value.length === 0) throw new RangeError(`${field} must not be empty`);
  const bytes = new TextEncoder().encode(value);
  // A lone surrogate encodes as U+FFFD, so two different strings could share one encoding.
  // ignoreBOM: the default decoder drops a leading U+FEFF, which made a well-formed id that
  // starts with one fail with a wrong "not well-formed" message (review finding 9).
  if (new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes) !== value)
    throw new RangeError(`${field} must be well-formed Unicode (no lone surrogates)`);
  if (bytes.length > SESSION_MAX_ID_BYTES) {
    throw new RangeError(`${field} must be at most ${SESSION_MAX_ID_BYTES} UTF-8 bytes, got ${bytes.length}`);
  }
  return bytes;
}

/**
 * Encodes the prologue of a Veil session (Noise §6). Throws a TypeError/RangeError naming the
 * field when the version is not a u32 or an id is empty, too long or not well-formed Unicode.
 */
export function encodeSessionPrologue(binding: SessionBinding): Uint8Array {
  if (typeof binding !== "object" || binding === null) throw new TypeError("binding must be an object");
  const version = assertInteger(binding.protocolVersion, 0, SESSION_MAX_PROTOCOL_VERSION, "protocolVersion");
  const label = new TextEncoder().encode(SESSION_PROLOGUE_LABEL);
  const instance = encodeId(binding.instanceId, "instanceId");
  const account = encodeId(binding.accountId, "accountId");
  const out = new Uint8Array(2 + label.length + 4 + 2 + instance.length + 2 + account.length);
  const view = new DataView(out.buffer);
  let offset = 0;
  const put = (bytes: Uint8Array): void => {
    view.setUint16(offset, bytes.length, false);
    out.set(bytes, offset + 2);
    offset += 2 + bytes.length;
  };
  put(label);
  view.setUint32(offset, version, false);
  offset += 4;
  put(instance);
  put(account);
  return out;
}
