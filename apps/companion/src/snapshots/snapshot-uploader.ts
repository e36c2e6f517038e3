import { join } from "node:path";
import { readFileSync } from "node:fs";
import { fromBase64Url, identityPrivateKey, toBase64Url, type IdentityPublicKey } from "../crypto";
import { z } from "zod";
import { SNAPSHOT_CHUNK_BYTES, ZSnapshotGrantsAckSchema, type TDeviceSummary, type TSnapshotChunk } from "../protocol";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { CompanionSocket } from "../transport/console-transport";
import { writeSecretFile } from "../state/write-secret-file";
import { sealSnapshot, SnapshotTooLargeError } from "./seal-snapshot";
import { snapshotRecipients } from "./snapshot-recipients";
import { BoxKeyEpochs, type EpochFloors } from "../grants/box-key-epochs";

/** File keeping the last sequence number used (so a restart never reuses one). */
export const SNAPSHOT_STATE_FILE = "snapshot-state.json";

/** Options of the {@link SnapshotUploader}; clock, logger and socket come in from outside. */
export interface SnapshotUploaderOptions {
  readonly instanceId: string;
  /** The pinned grant signer. */
  readonly signer: IdentityPublicKey;
  /** The instance identity private key (base64url, from secrets.json): signs every snapshot. */
  readonly identityPrivateKey: string;
  readonly stateDir: string;
  /** The inventory rows now, or undefined while the device side is not up. */
  readonly devices: () => readonly TDeviceSummary[] | undefined;
  /** The authenticated console socket, when connected. */
  readonly socket: () => CompanionSocket | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A snapshot at least this often while connected (default 60 s). */
  readonly intervalMs?: number;
  /** How often the inventory is checked for a significant change (default 5 s). */
  readonly checkMs?: number;
  /** Least time between two uploads for a change (default 15 s; the console allows bursts of 3). */
  readonly minGapMs?: number;
  /** Time the console has to acknowledge each message (default 10 s). */
  readonly ackTimeoutMs?: number;
  /** Box-key epoch floors (default: in memory only); the companion shares its saved ones with sessions. */
  readonly boxKeyEpochs?: EpochFloors;
  /** Revoked grants (`grants.revoke`): never sealed to, whatever grant list the console serves. */
  readonly revokedBefore?: (accountId: string) => number | undefined;
}

/** The outcome of one attempt. */
export type UploadOutcome =
  | { status: "stored"; sequence: number; bytes: number; recipients: number }
  | { status: "skipped"; reason: "offline" | "no_devices" | "no_recipients" | "busy" | "too_large" }
  | { status: "failed"; code: string };

const ZSnapshotStateSchema = z.strictObject({
  version: z.literal(1),
  lastSequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

type Ack = { ok: true } | { ok: false; error?: { code?: unknown } };

/** FNV-1a over (MAC, status, name) of every device: what makes a change "significant". */
function inventoryFingerprint(devices: readonly TDeviceSummary[]): string {
  let h = 0x811c9dc5;
  for (const d of devices) {
    const s = `${d.mac}|${d.status}|${d.name};`;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return `${devices.length}:${(h >>> 0).toString(16)}`;
}

/**
 * Uploads sealed inventory snapshots to the console (docs/COMPANION-DEVICES.md, "Last-known
 * snapshots"): every `intervalMs`, after a significant change (a device added, removed,
 * renamed or changing status; at most every `minGapMs`), after each (re)connection, and once
 * more on a clean shutdown (`final`). Each upload first asks the console for the grant list
 * and verifies every grant itself; the snapshot is sealed only to the verified grantees.
 * One upload at a time; failures are logged by code and retried at the next tick.
 */
export class SnapshotUploader {
  readonly #o: SnapshotUploaderOptions;
  readonly #epochs: EpochFloors;
  #timer: unknown;
  #busy: Promise<UploadOutcome> | undefined;
  #lastUploadAt = Number.NEGATIVE_INFINITY;
  #lastFingerprint = "";
  #lastSequence: number;

  constructor(options: SnapshotUploaderOptions) {
    this.#o = options;
    this.#epochs = options.boxKeyEpochs ?? new BoxKeyEpochs();
    this.#lastSequence = this.#readSequence();
  }

  /** Starts the check timer. */
  start(): void {
    this.#timer = this.#o.clock.setInterval(() => void this.#tick(), this.#o.checkMs ?? 5000);
    (this.#timer as { unref?: () => void } | undefined)?.unref?.();
  }

  /** Stops the timer (an upload in flight finishes on its own). */
  stop(): void {
    this.#o.clock.clearInterval(this.#timer);
  }

  /** Called when the console connection (re)opens: the console may hold nothing recent. */
  connected(): void {
    this.#lastFingerprint = "";
    void this.#tick();
  }

  /** Uploads now (waits for one in flight first). */
  async uploadNow(): Promise<UploadOutcome> {
    await this.#busy?.catch(() => undefined);
    return this.#run();
  }

  /** The clean-shutdown snapshot: one more upload, bounded by `timeoutMs`. */
  async final(timeoutMs = 3000): Promise<UploadOutcome | "timeout"> {
    this.stop();
    if (this.#o.socket() === undefined) return { status: "skipped", reason: "offline" };
    let timer: unknown;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = this.#o.clock.setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      return await Promise.race([this.uploadNow(), timeout]);
    } finally {
      this.#o.clock.clearTimeout(timer);
    }
  }

  async #tick(): Promise<void> {
    if (this.#busy !== undefined || this.#o.socket() === undefined) return;
    const devices = this.#o.devices();
    if (devices === undefined) return;
    const since = this.#o.clock.now() - this.#lastUploadAt;
    const due = since >= (this.#o.intervalMs ?? 60_000);
    const changed = since >= (this.#o.minGapMs ?? 15_000) && inventoryFingerprint(devices) !== this.#lastFingerprint;
    if (due || changed) await this.#run();
  }

  #run(): Promise<UploadOutcome> {
    if (this.#busy !== undefined) return Promise.resolve({ status: "skipped", reason: "busy" });
    const run = this.#upload().catch((error: unknown): UploadOutcome => {
      const code = error instanceof Error ? error.name : "unknown";
      this.#o.logger.warn("snapshot upload failed", { code });
      return { status: "failed", code };
    });
    this.#busy = run;
    void run.finally(() => (this.#busy = undefined));
    return run;
  }

  async #upload(): Promise<UploadOutcome> {
    const o = this.#o;
    const socket = o.socket();
    if (socket === undefined) return { status: "skipped", reason: "offline" };
    const devices = o.devices();
    if (devices === undefined) return { status: "skipped", reason: "no_devices" };
    const ackTimeout = o.ackTimeoutMs ?? 10_000;
    const listed = ZSnapshotGrantsAckSchema.safeParse(
      await socket.timeout(ackTimeout).emitWithAck("snapshot:grants", {}),
    );
    if (!listed.success) return { status: "failed", code: "bad_grants_ack" };
    if (!listed.data.ok) return { status: "failed", code: listed.data.error.code };
    const recipients = snapshotRecipients(listed.data.grants, {
      instanceId: o.instanceId,
      signer: o.signer,
      now: o.clock.now(),
      epochs: this.#epochs,
      ...(o.revokedBefore !== undefined ? { revokedBefore: o.revokedBefore } : {}),
    });
    if (Object.keys(recipients.refused).length > 0)
      o.logger.warn("grants refused for snapshots", { refused: JSON.stringify(recipients.refused) });
    const fingerprint = inventoryFingerprint(devices);
    if (recipients.keys.length === 0) return { status: "skipped", reason: "no_recipients" };
    const takenAt = o.clock.now();
    const sequence = Math.max(this.#lastSequence + 1, takenAt);
    this.#saveSequence(sequence);
    const signer = identityPrivateKey(fromBase64Url(o.identityPrivateKey));
    let sealed: Uint8Array;
    try {
      sealed = await sealSnapshot(
        { instanceId: o.instanceId, sequence, takenAt, devices },
        { recipients: recipients.keys, signer },
      );
    } catch (error) {
      if (!(error instanceof SnapshotTooLargeError)) throw error;
      o.logger.error("snapshot over the size cap: not sent", { bytes: error.bytes });
      return { status: "skipped", reason: "too_large" };
    } finally {
      signer.fill(0);
    }
    const parts = Math.ceil(sealed.length / SNAPSHOT_CHUNK_BYTES);
    for (let part = 0; part < parts; part++) {
      const chunk: TSnapshotChunk = {
        sequence,
        part,
        parts,
        totalBytes: sealed.length,
        data: toBase64Url(sealed.subarray(part * SNAPSHOT_CHUNK_BYTES, (part + 1) * SNAPSHOT_CHUNK_BYTES)),
      };
      const ack = (await socket.timeout(ackTimeout).emitWithAck("snapshot:chunk", chunk)) as Ack | null;
      if (ack === null || typeof ack !== "object" || ack.ok !== true) {
        const code = ack?.ok === false && typeof ack.error?.code === "string" ? ack.error.code : "bad_ack";
        o.logger.warn("console refused a snapshot", { code, sequence });
        return { status: "failed", code };
      }
    }
    this.#lastUploadAt = o.clock.now();
    this.#lastFingerprint = fingerprint;
    o.logger.info("snapshot uploaded", { sequence, bytes: sealed.length, recipients: recipients.keys.length });
    return { status: "stored", sequence, bytes: sealed.length, recipients: recipients.keys.length };
  }

  #readSequence(): number {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(this.#o.stateDir, SNAPSHOT_STATE_FILE), "utf8"));
    } catch {
      return 0; // none yet (or unreadable): sequences also never fall below the clock
    }
    const parsed = ZSnapshotStateSchema.safeParse(raw);
    return parsed.success ? parsed.data.lastSequence : 0;
  }

  #saveSequence(sequence: number): void {
    this.#lastSequence = sequence;
    writeSecretFile(
      join(this.#o.stateDir, SNAPSHOT_STATE_FILE),
      JSON.stringify({ version: 1, lastSequence: sequence }),
    );
  }
}
