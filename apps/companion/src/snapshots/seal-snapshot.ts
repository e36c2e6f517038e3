import { promisify } from "node:util";
import { deflateRaw } from "node:zlib";
import { seal, utf8, type BoxPublicKey, type IdentityPrivateKey } from "../crypto";
import {
  MAX_SNAPSHOT_BYTES,
  SNAPSHOT_FORMAT_VERSION,
  snapshotAad,
  type TDeviceSummary,
  type TSnapshotPlaintext,
} from "../protocol";

const deflate = promisify(deflateRaw);

/** The snapshot does not fit the console's cap even compressed (it is not sent). */
export class SnapshotTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`snapshot is ${bytes} bytes sealed, over the ${MAX_SNAPSHOT_BYTES}-byte cap`);
    this.name = "SnapshotTooLargeError";
  }
}

/** What one snapshot seals: the inventory rows at `takenAt`, numbered `sequence`. */
export interface SnapshotInput {
  readonly instanceId: string;
  readonly sequence: number;
  readonly takenAt: number;
  readonly devices: readonly TDeviceSummary[];
}

/**
 * Serialises (JSON), compresses (raw DEFLATE, RFC 1951: a 10,000-device inventory is ~4 MB of
 * JSON and ~0.5 MB deflated) and seals a snapshot to `recipients`, signed with the instance
 * identity key; the AAD binds the instance id and sequence (docs/COMPANION-DEVICES.md,
 * "Last-known snapshots"). Compression runs on libuv's thread pool, so the event loop (device
 * ingestion) only pays for JSON and sealing. Rejects with SnapshotTooLargeError above
 * MAX_SNAPSHOT_BYTES.
 */
export async function sealSnapshot(
  input: SnapshotInput,
  keys: { readonly recipients: readonly BoxPublicKey[]; readonly signer: IdentityPrivateKey },
): Promise<Uint8Array> {
  const plaintext: TSnapshotPlaintext = {
    v: SNAPSHOT_FORMAT_VERSION,
    instanceId: input.instanceId,
    sequence: input.sequence,
    takenAt: input.takenAt,
    devices: [...input.devices],
  };
  const compressed = await deflate(utf8(JSON.stringify(plaintext)), { level: 6 });
  const sealed = seal(new Uint8Array(compressed.buffer, compressed.byteOffset, compressed.byteLength), {
    recipients: keys.recipients,
    signer: keys.signer,
    aad: snapshotAad(input.instanceId, input.sequence),
  });
  if (sealed.length > MAX_SNAPSHOT_BYTES) throw new SnapshotTooLargeError(sealed.length);
  return sealed;
}
