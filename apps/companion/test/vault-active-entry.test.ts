import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { systemClock } from "../src/clock";
import { silentLogger } from "../src/log";
import { generateBoxKeyPair, toBase64Url } from "../src/crypto";
import { openSiteServices } from "../src/discovery/site-requests";
import { ReplayCache } from "../src/e2e/replay-cache";
import { createRequestHandlers } from "../src/e2e/requests/create-handlers";
import { generateCredentials } from "../src/vault/generate-credentials";
import { ZVaultGenerateBodySchema, type TDeviceJobProgress } from "../src/protocol";
import { dispatchContext, dispatchOne, testRequest } from "./harness/dispatch";

describe("a device's login for rotation is the entry adoption or generation wrote", () => {
  let sim: SimulatorHandle;
  let dir: string;

  beforeAll(async () => {
    sim = await startSimulator({
      devices: 1,
      seed: 41,
      firstAddress: "127.0.13.2",
      discovery: "off",
      adminPort: 0,
      faultRate: 0,
    });
    dir = mkdtempSync(join(tmpdir(), "veil-vaultactive-"));
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an operator's manual entry for the device does not stop an admin's rotation from the vault", async () => {
    const d = sim.devices[0];
    if (d === undefined) throw new Error("no device");
    const site = openSiteServices({
      stateDir: dir,
      instanceId: randomUUID(),
      clock: systemClock,
      logger: silentLogger,
      scanRanges: "127.0.13.0/24",
    });
    const key = generateBoxKeyPair();
    await site.vault.init(toBase64Url(key.publicKey), false);
    const target = { mac: d.mac, ip: d.ip, port: sim.adminPort };
    const generate = async (body: unknown): Promise<TDeviceJobProgress[]> => {
      const out: TDeviceJobProgress[] = [];
      await generateCredentials(ZVaultGenerateBodySchema.parse(body), site, (p) => out.push(p));
      return out;
    };
    expect(await generate({ devices: [target], login: { username: "ubnt", password: "ubnt" } })).toMatchObject([
      { status: "done" },
    ]);

    // An operator stores a note-like entry for the device: no certificate, origin manual, newest.
    const handlers = createRequestHandlers({ rotateToken: () => Promise.resolve("x"), site: () => site });
    const put = await dispatchOne(
      testRequest("vault.put", randomUUID(), {
        target: { mac: d.mac },
        label: "console cable login",
        secret: { kind: "password", username: "serial", password: "something-else" },
      }),
      dispatchContext({ cache: new ReplayCache(), handlers, role: "operator" }),
    );
    expect(put).toMatchObject({ kind: "result", body: { status: "stored", entry: { origin: "manual" } } });

    site.vault.unlock(toBase64Url(key.privateKey), 5);
    const rotated = await generate({ devices: [target] });
    expect(rotated).toMatchObject([{ status: "done" }]);
    const entryId = rotated[0]?.vaultEntryId ?? "";
    const opened = site.vault.open(entryId);
    if (opened.status !== "ok" || opened.secret.kind !== "password") throw new Error("new entry does not open");
    expect(opened.secret).toEqual({ kind: "password", username: "ubnt", password: d.credentials.password });
  });
});
