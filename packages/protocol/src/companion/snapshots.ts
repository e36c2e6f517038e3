import { z } from "zod";
import { zB64u, ZIdSchema } from "../fields";
import { ZTimestampSchema } from "../http/common";
import { ZGrantBundleSchema } from "./statements";
import { ZDeviceSummarySchema } from "./devices";

/**
 * Last-known inventory snapshots (issue 5; docs/COMPANION-DEVICES.md "Last-known snapshots",
 * docs/PROTOCOL-COMPANION.md "Snapshots"). The companion seals a snapshot of its inventory to
 * every current grantee's certified box key (grants it verified itself) and signs it with the
 * instance identity key; the console stores the newest few, opaque; a grantee's browser fetches
 * the newest, verifies the signature against the instance key it verified from the certificate,
 * opens it with the account's box key and shows it while the site is offline.
 *
 *   plaintext  = raw DEFLATE (RFC 1951) of the UTF-8 JSON of ZSnapshotPlaintextSchema
 *   sealed     = @veil/crypto seal(plaintext, { recipients, signer: instance identity key,
 *                                               aad: snapshotAad(instanceId, sequence) })
 */

/** Sealed-box AAD label of snapshots. */
export const SNAPSHOT_AAD_LABEL = "veil/v1/snapshot";
/** Plaintext format version. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** Most devices one snapshot holds (the companion's inventory cap is 20,000). */
export const MAX_SNAPSHOT_DEVICES = 20_000;
/** Largest sealed snapshot the console accepts (and the companion sends). */
export const MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;
/** Largest plaintext JSON a browser inflates a snapshot to (a deflate bomb stops here). */
export const MAX_SNAPSHOT_JSON_BYTES = 32 * 1024 * 1024;
/** Bytes of sealed snapshot per upload chunk: one chunk stays under MAX_SOCKET_MESSAGE_BYTES as base64url. */
export const SNAPSHOT_CHUNK_BYTES = 128 * 1024;
/** Most chunks of one upload. */
export const MAX_SNAPSHOT_PARTS = Math.ceil(MAX_SNAPSHOT_BYTES / SNAPSHOT_CHUNK_BYTES);
/** Most grants the console lists to a companion (the sealed-box recipient limit). */
export const MAX_SNAPSHOT_GRANTS = 1024;

/** A snapshot's sequence number: positive, safe, strictly increasing per instance. */
export const ZSnapshotSequenceSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/**
 * The sealed box's associated data: binds the instance id and the sequence number the console
 * files the box under, so a console that relabels a box (another instance, another sequence)
 * makes it fail to open. Not stored in the box; both ends rebuild it.
 */
export function snapshotAad(instanceId: string, sequence: number): Uint8Array {
  return new TextEncoder().encode(`${SNAPSHOT_AAD_LABEL}\n${instanceId.toLowerCase()}\n${sequence}`);
}

/** What is inside the box (after inflating): the inventory as the devices page lists it. */
export const ZSnapshotPlaintextSchema = z.strictObject({
  v: z.literal(SNAPSHOT_FORMAT_VERSION),
  instanceId: ZIdSchema,
  sequence: ZSnapshotSequenceSchema,
  /** When the companion took it (ms since the epoch, the companion's clock). */
  takenAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  devices: z.array(ZDeviceSummarySchema).max(MAX_SNAPSHOT_DEVICES),
});
export type TSnapshotPlaintext = z.infer<typeof ZSnapshotPlaintextSchema>;

/** `snapshot:grants` (companion → console, no body): the instance's stored grant bundles. */
export const ZSnapshotGrantsAckSchema = z.discriminatedUnion("ok", [
  z.strictObject({ ok: z.literal(true), grants: z.array(ZGrantBundleSchema).max(MAX_SNAPSHOT_GRANTS) }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string().max(64) }) }),
]);
export type TSnapshotGrantsAck = z.infer<typeof ZSnapshotGrantsAckSchema>;

/**
 * `snapshot:chunk` (companion → console): part `part` of `parts` of one sealed snapshot, in
 * order; the console stores the snapshot when the last part arrives and acknowledges each.
 */
export const ZSnapshotChunkSchema = z.strictObject({
  sequence: ZSnapshotSequenceSchema,
  part: z
    .number()
    .int()
    .min(0)
    .max(MAX_SNAPSHOT_PARTS - 1),
  parts: z.number().int().min(1).max(MAX_SNAPSHOT_PARTS),
  totalBytes: z.number().int().min(1).max(MAX_SNAPSHOT_BYTES),
  data: zB64u({ maxBytes: SNAPSHOT_CHUNK_BYTES }).min(1),
});
export type TSnapshotChunk = z.infer<typeof ZSnapshotChunkSchema>;

/** GET /api/instances/:id/snapshot: the newest stored snapshot, or null. */
export const ZSnapshotResponseSchema = z.strictObject({
  snapshot: z
    .strictObject({
      sequence: ZSnapshotSequenceSchema,
      sizeBytes: z.number().int().min(1).max(MAX_SNAPSHOT_BYTES),
      /** When the console received it (ISO 8601): the console's word, not signed. */
      receivedAt: ZTimestampSchema,
      sealed: zB64u({ maxBytes: MAX_SNAPSHOT_BYTES }).min(1),
    })
    .nullable(),
});
export type TSnapshotResponse = z.infer<typeof ZSnapshotResponseSchema>;

/** Snapshot events a companion emits on its console socket (merged into CompanionToConsoleEvents). */
export interface SnapshotCompanionToConsoleEvents {
  "snapshot:grants": (body: Record<string, never>, ack: (result: unknown) => void) => void;
  "snapshot:chunk": (chunk: TSnapshotChunk, ack: (result: unknown) => void) => void;
}
