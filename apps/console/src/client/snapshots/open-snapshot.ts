/**
 * Opens a last-known inventory snapshot in the browser (docs/COMPANION-DEVICES.md, "Last-known
 * snapshots"). Universal (no DOM beyond DecompressionStream, which Node has too): the tests run
 * it in Node against a malicious console. Nothing the console says is trusted:
 *
 * - the box must carry the instance's signature under the identity key this browser verified
 *   from the instance certificate (a box sealed by anyone else, or re-signed, fails);
 * - the AAD binds the instance id and the sequence the console filed it under (a box moved to
 *   another instance or relabelled fails to open);
 * - inside, the instance id and sequence must match again, and the sequence must not be lower
 *   than the highest this tab already accepted (a replayed older snapshot is refused);
 * - the inflated JSON is capped (MAX_SNAPSHOT_JSON_BYTES) and parsed with zod.
 */
import { DecryptError, fromBase64Url, fromUtf8, identityPublicKey, unseal, type BoxKeyPair } from "@veil/crypto";
import {
  MAX_SNAPSHOT_JSON_BYTES,
  snapshotAad,
  ZSnapshotPlaintextSchema,
  type TSnapshotPlaintext,
} from "@veil/protocol";

/** Why a served snapshot was refused: every case means "do not show it". */
export type SnapshotRejection = "not_openable" | "stale" | "too_large" | "malformed" | "mismatch";

/** A snapshot the browser refuses, with a stable code and a user-safe message. */
export class SnapshotRejectedError extends Error {
  constructor(readonly code: SnapshotRejection) {
    super(MESSAGES[code]);
    this.name = "SnapshotRejectedError";
  }
}

const MESSAGES: Record<SnapshotRejection, string> = {
  not_openable:
    "The last-known inventory could not be opened: it is not signed by this instance or not sealed to your key. The console may have been tampered with.",
  stale: "The console served an older last-known inventory than this page already showed; it was refused.",
  too_large: "The last-known inventory is larger than this page accepts.",
  malformed: "The last-known inventory is malformed.",
  mismatch: "The last-known inventory belongs to another instance or sequence; it was refused.",
};

/** What the console served (GET /api/instances/:id/snapshot). */
export interface ServedSnapshot {
  readonly sequence: number;
  /** base64url of the sealed box. */
  readonly sealed: string;
}

/** Inflates raw DEFLATE, refusing output beyond `max` bytes (a deflate bomb stops early). */
async function inflateCapped(data: Uint8Array, max: number): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream("deflate-raw"));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel();
        throw new SnapshotRejectedError("too_large");
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof SnapshotRejectedError) throw error;
    throw new SnapshotRejectedError("malformed");
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * Verifies, opens and parses a served snapshot for `instanceId` as `recipient`; `minSequence`
 * is the highest sequence this tab accepted before (0 for none). Throws SnapshotRejectedError.
 */
export async function openSnapshot(
  served: ServedSnapshot,
  context: {
    readonly instanceId: string;
    /** The instance identity key from the certificate this browser verified (never the console's listing). */
    readonly instanceIdentityPublicKey: Uint8Array;
    readonly recipient: BoxKeyPair;
    readonly minSequence: number;
  },
): Promise<TSnapshotPlaintext> {
  if (!Number.isSafeInteger(served.sequence) || served.sequence < 1) throw new SnapshotRejectedError("malformed");
  if (served.sequence < context.minSequence) throw new SnapshotRejectedError("stale");
  let compressed: Uint8Array;
  try {
    compressed = unseal(fromBase64Url(served.sealed), {
      recipient: context.recipient,
      signer: identityPublicKey(context.instanceIdentityPublicKey),
      aad: snapshotAad(context.instanceId, served.sequence),
    });
  } catch (error) {
    if (error instanceof DecryptError || error instanceof TypeError || error instanceof RangeError)
      throw new SnapshotRejectedError("not_openable");
    throw error;
  }
  const json = await inflateCapped(compressed, MAX_SNAPSHOT_JSON_BYTES);
  let raw: unknown;
  try {
    raw = JSON.parse(fromUtf8(json));
  } catch {
    throw new SnapshotRejectedError("malformed");
  }
  const parsed = ZSnapshotPlaintextSchema.safeParse(raw);
  if (!parsed.success) throw new SnapshotRejectedError("malformed");
  const p = parsed.data;
  if (p.instanceId.toLowerCase() !== context.instanceId.toLowerCase() || p.sequence !== served.sequence)
    throw new SnapshotRejectedError("mismatch");
  return p;
}
