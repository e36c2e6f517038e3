/**
 * Why a device frame was refused. Stable strings: the companion counts drops by reason, so a
 * reason never changes meaning.
 * - `malformed`: a length, magic, version or field is wrong (truncated, extended, bad TLV).
 * - `too_large`: a declared or decompressed size is above the cap.
 * - `unsupported`: a flag combination, payload version or algorithm this codec does not speak.
 * - `auth_failed`: the frame does not decrypt under the key (bad tag, bad padding, wrong key,
 *   wrong direction). Deliberately one reason, so a sender learns nothing about which check failed.
 * - `replayed`: a channel frame whose counter is not above the last one accepted.
 * - `exhausted`: a channel key reached its frame limit and must be replaced (rekey).
 * - `state`: the call is not valid in the current state of a channel state machine.
 */
export type DeviceCodecErrorReason =
  "malformed" | "too_large" | "unsupported" | "auth_failed" | "replayed" | "exhausted" | "state";

const OPAQUE = "The device frame could not be authenticated.";

/**
 * The only error the codecs of @veil/devices throw for bad input. `reason` is for counters and
 * logs; `message` never echoes input bytes or keys. Authentication failures all share one
 * message and reason so that padding and tag errors are indistinguishable.
 */
export class DeviceCodecError extends Error {
  readonly reason: DeviceCodecErrorReason;

  constructor(reason: DeviceCodecErrorReason, message: string) {
    super(reason === "auth_failed" ? OPAQUE : message);
    this.name = "DeviceCodecError";
    this.reason = reason;
  }

  /** The one error for every decryption failure (RFC 5116 §2.2: return FAIL, nothing else). */
  static authFailed(): DeviceCodecError {
    return new DeviceCodecError("auth_failed", OPAQUE);
  }
}

/** Throws `DeviceCodecError("malformed")` unless `condition` holds. */
export function check(
  condition: boolean,
  message: string,
  reason: DeviceCodecErrorReason = "malformed",
): asserts condition {
  if (!condition) throw new DeviceCodecError(reason, message);
}
