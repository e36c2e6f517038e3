import { randomBytes, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instanceSnapshots, instances, type OpenedDatabase, type VeilDatabase } from "../src/index";
import { drivers } from "./drivers";

const bytes = (n: number) => new Uint8Array(randomBytes(n));

function newInstance() {
  return {
    id: randomUUID(),
    name: "site",
    kdfParams: { alg: "argon2id" as const, memoryKiB: 65536, iterations: 3, parallelism: 1 },
    kdfSalt: bytes(16),
    authKeyHash: bytes(32),
    identityPublicKey: bytes(32),
    boxPublicKey: bytes(32),
    wrappedIdentityKey: bytes(72),
    wrappedBoxKey: bytes(72),
    certificate: {
      statement: { domain: "veil/v1/instance-certificate", body: {}, signature: "x" },
      signerPublicKey: "y",
    },
    signerPublicKey: bytes(32),
  };
}

for (const driver of drivers()) {
  // Same driver set as the contract suite: PostgreSQL only with DATABASE_URL (reason printed).
  const suite = driver.skipReason ? describe.skip : describe;

  suite(`instance_snapshots on ${driver.name}`, () => {
    let opened: OpenedDatabase;
    let db: VeilDatabase;

    beforeAll(async () => {
      opened = await driver.open();
      db = opened.db;
    });
    afterAll(async () => {
      await opened?.close();
      await driver.cleanup();
    });

    it("stores sealed bytes as given, refuses a duplicate sequence, and goes with its instance", async () => {
      const a = newInstance();
      const b = newInstance();
      await db.insert(instances).values([a, b]);
      const sealed = bytes(1000);
      await db.insert(instanceSnapshots).values({ instanceId: a.id, sequence: 2 ** 40, sealed, sizeBytes: 1000 });
      await db.insert(instanceSnapshots).values({ instanceId: b.id, sequence: 2 ** 40, sealed, sizeBytes: 1000 });
      await expect(
        db.insert(instanceSnapshots).values({ instanceId: a.id, sequence: 2 ** 40, sealed, sizeBytes: 1000 }),
      ).rejects.toThrow();
      const [row] = await db.select().from(instanceSnapshots).where(eq(instanceSnapshots.instanceId, a.id));
      expect(row?.sealed).toEqual(sealed);
      expect(row?.sequence).toBe(2 ** 40);
      expect(row?.receivedAt).toBeInstanceOf(Date);
      await db.delete(instances).where(eq(instances.id, a.id));
      expect(await db.select().from(instanceSnapshots).where(eq(instanceSnapshots.instanceId, a.id))).toEqual([]);
      expect(await db.select().from(instanceSnapshots).where(eq(instanceSnapshots.instanceId, b.id))).toHaveLength(1);
    });
  });
}
