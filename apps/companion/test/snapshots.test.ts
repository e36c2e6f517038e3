import { statSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { openSnapshot, SnapshotRejectedError } from "../../console/src/client/snapshots/open-snapshot";
import type { RunningCompanion } from "../src/run/start-companion";
import { seal, toBase64Url, utf8, type BoxKeyPair } from "../src/crypto";
import { MAX_SNAPSHOT_BYTES, snapshotAad, type TDeviceSummary } from "../src/protocol";
import { sealSnapshot } from "../src/snapshots/seal-snapshot";
import { snapshotRecipients } from "../src/snapshots/snapshot-recipients";
import { BoxKeyEpochs } from "../src/grants/box-key-epochs";
import { SNAPSHOT_STATE_FILE, type UploadOutcome } from "../src/snapshots/snapshot-uploader";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import {
  makeAccount,
  makeInstance,
  signDelegation,
  signGrant,
  type TestAccount,
  type TestInstance,
} from "./harness/fixtures";
import { waitUntil } from "./harness/browser";
import { TestConsole, type UploadedSnapshot } from "./harness/test-console";

useNativePrimitives();

const SCALE = 0.05;

/** The browser's check (apps/console/src/client/snapshots/open-snapshot.ts), run in Node. */
const open = (
  instance: TestInstance,
  served: { sequence: number; sealed: Uint8Array | string },
  recipient: BoxKeyPair,
  options: { instanceId?: string; minSequence?: number } = {},
) =>
  openSnapshot(
    {
      sequence: served.sequence,
      sealed: typeof served.sealed === "string" ? served.sealed : toBase64Url(served.sealed),
    },
    {
      instanceId: options.instanceId ?? instance.instanceId,
      instanceIdentityPublicKey: instance.identity.publicKey,
      recipient,
      minSequence: options.minSequence ?? 0,
    },
  );

const rejection = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (error) {
    if (error instanceof SnapshotRejectedError) return error.code;
    throw error;
  }
  throw new Error("the browser accepted it");
};

describe("last-known snapshots: sealed to verified grantees, signed by the instance, checked by the browser", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const state = tempStateDir();
  const { logger, lines } = captureLogger();
  let admin: TestAccount;
  let viewer: TestAccount;
  let stranger: TestAccount;
  let rogue: TestAccount;
  let instance: TestInstance;
  let companion: RunningCompanion;
  let sim: SimulatorHandle;
  let first: UploadedSnapshot;

  const upload = async (): Promise<UploadOutcome> => {
    const uploader = companion.snapshots;
    if (uploader === undefined) throw new Error("no snapshot uploader");
    return uploader.uploadNow();
  };

  beforeAll(async () => {
    await consoleServer.start();
    admin = makeAccount();
    viewer = makeAccount();
    stranger = makeAccount();
    rogue = makeAccount();
    instance = await makeInstance(admin, "snapshot-site");
    consoleServer.instances.set(instance.instanceId, instance.record);
    const id = instance.instanceId;
    consoleServer.snapshotGrants = [
      signGrant({ signer: admin, account: admin, instanceId: id, role: "admin" }),
      signGrant({ signer: admin, account: viewer, instanceId: id, role: "viewer" }),
      // What a malicious console adds: a grant for a key it holds, signed by a key of its own.
      signGrant({ signer: rogue, account: rogue, instanceId: id, role: "viewer" }),
    ];
    await enrollInto(state.dir, instance.enrollment(consoleServer.url, cert.pin), logger);
    companion = runCompanion(state.dir, logger, {
      devices: { bindHost: "127.0.0.1", publicHost: "127.0.0.1", informPort: 0, channelPort: 0, timeScale: SCALE },
      // Timers far away: the test drives uploads (uploadNow, stop) so it can count them.
      snapshots: { intervalMs: 3_600_000, checkMs: 3_600_000, minGapMs: 3_600_000 },
    });
    const service = await (companion.devices ?? Promise.reject(new Error("no device service")));
    await waitUntil(() => consoleServer.isOnline(id), 5000, "companion online");
    sim = await startSimulator({
      devices: 12,
      admin: false,
      discovery: "off",
      timeScale: SCALE,
      startSpreadMs: 200,
      rebootMs: 60_000,
      faultRate: 0,
      seed: 5,
      informUrl: `http://127.0.0.1:${service.informPort}/inform`,
    });
    await waitUntil(() => service.ctx.inventory.devices.size === 12, 15_000, "12 devices in the inventory");
  }, 60_000);

  afterAll(async () => {
    await sim?.stop();
    companion?.stop();
    await companion?.finished;
    await consoleServer.stop();
    state.cleanup();
  }, 30_000);

  it("reaches the console sealed; each verified grantee opens it, a stranger and the console's own key cannot", async () => {
    // (One may already be there: the companion uploads when its connection opens.)
    const before = consoleServer.snapshots.length;
    const outcome = await upload();
    expect(outcome).toMatchObject({ status: "stored", recipients: 2 });
    expect(consoleServer.snapshots).toHaveLength(before + 1);
    first = consoleServer.snapshots.at(-1) as UploadedSnapshot;
    expect(first.instanceId).toBe(instance.instanceId);
    // What the console holds says nothing of the inventory: only the grantees' keys open it (the
    // stranger and the rogue key are refused below), and no device's MAC is there in clear.
    const blob = Buffer.from(first.sealed);
    for (const d of sim.devices) expect(blob.includes(Buffer.from(d.mac))).toBe(false);

    const seen = await open(instance, first, viewer.box);
    expect(seen.instanceId).toBe(instance.instanceId);
    expect(seen.sequence).toBe(first.sequence);
    expect(Math.abs(seen.takenAt - Date.now())).toBeLessThan(60_000);
    expect(new Set(seen.devices.map((d) => d.mac))).toEqual(new Set(sim.devices.map((d) => d.mac)));
    expect((await open(instance, first, admin.box)).devices).toHaveLength(12);
    expect(await rejection(open(instance, first, stranger.box))).toBe("not_openable");
    expect(await rejection(open(instance, first, rogue.box))).toBe("not_openable");
    // The refusal is logged by code, nothing of the grant.
    expect(lines.some((l) => l.includes("grants refused for snapshots") && l.includes("unknown_signer"))).toBe(true);
  });

  it("seals only to grants this companion verified: pinned signer or its delegation, this instance, unexpired, not revoked, certified box key", () => {
    const id = instance.instanceId;
    const delegate = makeAccount();
    const delegated = makeAccount();
    const certOf = makeAccount();
    const revoked = makeAccount();
    const lapsed = makeAccount();
    const revokedAt = Date.now() - 1000;
    const swappedBox = signGrant({ signer: admin, account: certOf, instanceId: id, role: "viewer" });
    // A console pairing an account's certificate with a grant for another box key.
    swappedBox.boxKeyCertificate = signGrant({
      signer: admin,
      account: stranger,
      instanceId: id,
      role: "viewer",
    }).boxKeyCertificate;
    const result = snapshotRecipients(
      [
        signGrant({ signer: admin, account: viewer, instanceId: id, role: "viewer" }),
        signGrant({
          signer: delegate,
          account: delegated,
          instanceId: id,
          role: "operator",
          delegation: signDelegation(admin, delegate, id),
        }),
        signGrant({ signer: rogue, account: rogue, instanceId: id, role: "admin" }),
        signGrant({ signer: admin, account: stranger, instanceId: randomUUID(), role: "viewer" }),
        signGrant({ signer: admin, account: certOf, instanceId: id, role: "viewer", expiresAt: Date.now() - 1000 }),
        swappedBox,
        // Revoked by grants.revoke, still listed by the console.
        signGrant({ signer: admin, account: revoked, instanceId: id, role: "viewer", issuedAt: revokedAt - 1 }),
        // A grant good for an hour under a delegation that lapsed.
        signGrant({
          signer: delegate,
          account: lapsed,
          instanceId: id,
          role: "viewer",
          delegation: signDelegation(admin, delegate, id, Date.now() - 1),
        }),
      ],
      {
        instanceId: id,
        signer: admin.identity.publicKey,
        now: Date.now(),
        epochs: new BoxKeyEpochs(),
        revokedBefore: (accountId) => (accountId === revoked.accountId ? revokedAt : undefined),
      },
    );
    expect(result.accounts.sort()).toEqual([viewer.accountId, delegated.accountId].sort());
    expect(result.keys.map((k) => toBase64Url(k)).sort()).toEqual(
      [toBase64Url(viewer.box.publicKey), toBase64Url(delegated.box.publicKey)].sort(),
    );
    expect(result.refused).toEqual({
      unknown_signer: 1,
      wrong_instance: 1,
      expired: 1,
      box_key_uncertified: 1,
      revoked: 1,
      delegation_invalid: 1,
    });
  });

  it("a malicious console is caught by the browser: replayed older, relabelled, moved to another instance, forged, bit-flipped", async () => {
    const second = await upload();
    if (second.status !== "stored") throw new Error(`second upload: ${JSON.stringify(second)}`);
    const latest = consoleServer.snapshots.at(-1) as UploadedSnapshot;
    expect(latest.sequence).toBeGreaterThan(first.sequence);
    expect((await open(instance, latest, viewer.box)).sequence).toBe(latest.sequence);
    // The tab already showed `latest`: the console serving the older one again is refused.
    expect(await rejection(open(instance, first, viewer.box, { minSequence: latest.sequence }))).toBe("stale");
    // The older box relabelled with the newer sequence: the AAD no longer matches.
    expect(await rejection(open(instance, { ...first, sequence: latest.sequence }, viewer.box))).toBe("not_openable");
    // Served as another instance's snapshot.
    expect(await rejection(open(instance, latest, viewer.box, { instanceId: randomUUID() }))).toBe("not_openable");
    // Swapped for a box the console made itself (sealed to the viewer, right AAD, its own signature).
    const devices: TDeviceSummary[] = [];
    const forged = await sealSnapshot(
      { instanceId: instance.instanceId, sequence: latest.sequence + 1, takenAt: Date.now(), devices },
      { recipients: [viewer.box.publicKey], signer: rogue.identity.privateKey },
    );
    expect(await rejection(open(instance, { sequence: latest.sequence + 1, sealed: forged }, viewer.box))).toBe(
      "not_openable",
    );
    const flipped = Uint8Array.from(latest.sealed);
    const at = Math.floor(flipped.length / 2);
    flipped[at] = (flipped[at] ?? 0) ^ 1;
    expect(await rejection(open(instance, { sequence: latest.sequence, sealed: flipped }, viewer.box))).toBe(
      "not_openable",
    );
    // Inside, the ids must agree with the label too; and a deflate bomb stops at the cap.
    const sealedBy = (plain: Uint8Array, sequence: number) =>
      seal(plain, {
        recipients: [viewer.box.publicKey],
        signer: instance.identity.privateKey,
        aad: snapshotAad(instance.instanceId, sequence),
      });
    const otherInside = deflateRawSync(
      utf8(JSON.stringify({ v: 1, instanceId: randomUUID(), sequence: 7, takenAt: 1, devices: [] })),
    );
    expect(await rejection(open(instance, { sequence: 7, sealed: sealedBy(otherInside, 7) }, viewer.box))).toBe(
      "mismatch",
    );
    const bomb = deflateRawSync(Buffer.alloc(40 * 1024 * 1024));
    expect(await rejection(open(instance, { sequence: 8, sealed: sealedBy(bomb, 8) }, viewer.box))).toBe("too_large");
    const garbage = deflateRawSync(utf8(JSON.stringify({ v: 1, devices: "all of them" })));
    expect(await rejection(open(instance, { sequence: 9, sealed: sealedBy(garbage, 9) }, viewer.box))).toBe(
      "malformed",
    );
  });

  it("10,000 devices fit under the console's cap (deflated before sealing) and open again", async () => {
    const base = (await open(instance, first, viewer.box)).devices;
    const devices: TDeviceSummary[] = Array.from({ length: 10_000 }, (_, i) => {
      const d = base[i % base.length] as TDeviceSummary;
      const hex = (n: number) => n.toString(16).padStart(2, "0");
      return {
        ...d,
        mac: `02:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}:${hex((i * 7) & 255)}:${hex((i * 13) & 255)}`,
        name: `device-${i}`,
        hostname: `device-${i}`,
        ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        uptime: 1000 + i * 37,
        cpu: (i * 7.3) % 100,
        memoryPct: (i * 3.1) % 100,
        lastSeen: Date.now() - (i % 10_000),
      };
    });
    const started = performance.now();
    const sealed = await sealSnapshot(
      { instanceId: instance.instanceId, sequence: 42, takenAt: Date.now(), devices },
      { recipients: [viewer.box.publicKey, admin.box.publicKey], signer: instance.identity.privateKey },
    );
    const sealMs = performance.now() - started;
    const json = Buffer.byteLength(JSON.stringify(devices));
    console.log(
      `[snapshots] 10,000 devices: JSON ${(json / 1024).toFixed(0)} KiB, sealed ${(sealed.length / 1024).toFixed(0)} KiB (${((100 * sealed.length) / json).toFixed(1)} %), ${sealMs.toFixed(0)} ms to serialise, deflate and seal`,
    );
    expect(sealed.length).toBeLessThan(MAX_SNAPSHOT_BYTES / 4);
    const opened = await open(instance, { sequence: 42, sealed }, viewer.box);
    expect(opened.devices).toHaveLength(10_000);
    expect(opened.devices[9_999]?.name).toBe("device-9999");
  });

  it("a clean stop uploads one last snapshot, with a higher sequence kept in a 0600 state file", async () => {
    const before = consoleServer.snapshots.length;
    const lastSequence = consoleServer.snapshots.at(-1)?.sequence ?? 0;
    await sim.stop();
    companion.stop();
    await companion.finished;
    expect(await companion.finished).toBe("stopped");
    expect(consoleServer.snapshots).toHaveLength(before + 1);
    const final = consoleServer.snapshots.at(-1) as UploadedSnapshot;
    expect(final.sequence).toBeGreaterThan(lastSequence);
    expect((await open(instance, final, viewer.box, { minSequence: lastSequence })).devices).toHaveLength(12);
    expect(statSync(join(state.dir, SNAPSHOT_STATE_FILE)).mode & 0o777).toBe(0o600);
  });
});
