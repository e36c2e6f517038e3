/**
 * One direction pair of an established device-channel session: seals outgoing data frames
 * with a strictly increasing counter and opens incoming ones, dropping any whose counter is
 * not above the last accepted (replay, reorder), whose direction, key or MAC differ from the
 * session's (reflection, cross-device), or whose tag fails.
 */
import type { z } from "zod";
import { check, DeviceCodecError } from "./errors";
import { buildHeader, FrameKind, openFrame, parseFrame, sealFrame, type ChannelHeader } from "./channel-frame";

/** Frame limits per session key. */
export interface ChannelLimits {
  /** After this many frames in either direction `needsRekey` turns true (default 2^31). */
  readonly rekeyAfter: number;
  /** Hard limit: sealing beyond it throws `exhausted` (default 2^32 − 1, the u32 counter). */
  readonly maxFrames: number;
  /** Optional session age after which `needsRekey` turns true. */
  readonly maxAgeMs?: number;
}

/** Defaults: rekey well before 2^32 frames per key (NIST SP 800-38D §8.3 invocation limit). */
export const DEFAULT_CHANNEL_LIMITS: ChannelLimits = { rekeyAfter: 2 ** 31, maxFrames: 2 ** 32 - 1 };

/** Identity of a session, fixed at hello time. */
export interface SessionIdentity {
  readonly keyType: 1 | 2;
  readonly keyId: Uint8Array;
  readonly mac: string;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** JSON → UTF-8 bytes. */
export function encodeMessage(message: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

/** UTF-8 JSON → schema-validated value; anything else is `malformed`. */
export function decodeMessage<S extends z.ZodType>(schema: S, bytes: Uint8Array): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new DeviceCodecError("malformed", "channel message is not UTF-8 JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new DeviceCodecError("malformed", "channel message fails its schema");
  return parsed.data;
}

/** Sealing and opening for one established session. */
export class ChannelSession {
  private sendCounter: number;
  private lastReceived: number;
  private readonly startedAt: number;

  constructor(
    private readonly id: SessionIdentity,
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
    private readonly sendDirection: 1 | 2,
    private readonly limits: ChannelLimits,
    private readonly clock: () => number,
    counters: { nextSend: number; lastReceived: number },
  ) {
    this.sendCounter = counters.nextSend;
    this.lastReceived = counters.lastReceived;
    this.startedAt = clock();
  }

  /** True once the session should be replaced by a fresh one (new randoms, new keys). */
  get needsRekey(): boolean {
    const age = this.limits.maxAgeMs !== undefined && this.clock() - this.startedAt >= this.limits.maxAgeMs;
    return age || this.sendCounter >= this.limits.rekeyAfter || this.lastReceived + 1 >= this.limits.rekeyAfter;
  }

  /** Frames sealed so far in this session, including the hello when this side sent it. */
  get sent(): number {
    return this.sendCounter;
  }

  /** Seals one message as a data frame. */
  seal(message: unknown): Uint8Array {
    check(this.sendCounter < this.limits.maxFrames, "channel key exhausted: rekey", "exhausted");
    const counter = this.sendCounter++;
    const header = buildHeader({
      direction: this.sendDirection,
      kind: FrameKind.DATA,
      keyType: this.id.keyType,
      keyId: this.id.keyId,
      mac: this.id.mac,
      counter,
    });
    return sealFrame(this.sendKey, header, this.sendDirection, counter, encodeMessage(message));
  }

  /** Opens one data frame and validates its message with `schema`. */
  open<S extends z.ZodType>(frame: Uint8Array, schema: S): z.output<S> {
    const { header, body } = parseFrame(frame);
    this.checkHeader(header);
    const plaintext = openFrame(this.receiveKey, header, body);
    this.lastReceived = header.counter;
    return decodeMessage(schema, plaintext);
  }

  private checkHeader(h: ChannelHeader): void {
    const receiveDirection = this.sendDirection === 1 ? 2 : 1;
    // A reflected or mis-addressed frame fails here, before any decryption.
    if (h.direction !== receiveDirection || h.kind !== FrameKind.DATA) throw DeviceCodecError.authFailed();
    if (h.keyType !== this.id.keyType || !sameBytes(h.keyId, this.id.keyId) || h.mac !== this.id.mac)
      throw DeviceCodecError.authFailed();
    check(h.counter > this.lastReceived, "channel frame counter not increasing", "replayed");
    check(h.counter < this.limits.maxFrames, "channel key exhausted: rekey", "exhausted");
  }
}
