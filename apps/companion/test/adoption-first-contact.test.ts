import https from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { systemClock } from "../src/clock";
import { silentLogger } from "../src/log";
import { generateBoxKeyPair, toBase64Url } from "../src/crypto";
import { openSiteServices, type SiteServices } from "../src/discovery/site-requests";
import { adoptDevices } from "../src/adoption/adopt-devices";
import { generateCredentials } from "../src/vault/generate-credentials";
import { ZDiscoveryAdoptBodySchema, ZVaultGenerateBodySchema, type TDeviceJobProgress } from "../src/protocol";
import { makeSelfSignedCert } from "./harness/certs";

const USERNAME = "siteadmin";
const PASSWORD = "First-Contact-9d41";
const IMPOSTOR_IP = "127.0.12.200";

/**
 * A LAN host that took a not-yet-adopted device's address: its own certificate, and an info
 * answer with the real device's MAC. Records every request it receives, login bodies included.
 */
async function startImpostor(mac: string): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
  const cert = makeSelfSignedCert("impostor");
  const requests: string[] = [];
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      requests.push(`${req.method} ${req.url} ${body}`);
      if (req.url === "/api/v1/info")
        return res.end(
          JSON.stringify({ mac, model: "U7PG2", modelDisplay: "AP", firmware: "1", hostname: "ap", adopted: false }),
        );
      if (req.url === "/api/v1/login") return res.end(JSON.stringify({ token: "A".repeat(43), expiresInSec: 60 }));
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, IMPOSTOR_IP, r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("first contact is held to the certificate the operator approved in the scan", () => {
  let sim: SimulatorHandle;
  let dir: string;
  let site: SiteServices;

  beforeAll(async () => {
    sim = await startSimulator({
      devices: 3,
      seed: 31,
      firstAddress: "127.0.12.2",
      discovery: "off",
      adminPort: 0,
      username: USERNAME,
      password: PASSWORD,
      faultRate: 0,
    });
    dir = mkdtempSync(join(tmpdir(), "veil-firstcontact-"));
    site = openSiteServices({
      stateDir: dir,
      instanceId: randomUUID(),
      clock: systemClock,
      logger: silentLogger,
      scanRanges: "127.0.12.0/24",
    });
    await site.vault.init(toBase64Url(generateBoxKeyPair().publicKey), false);
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const device = (i: number) => {
    const d = sim.devices[i];
    if (d === undefined) throw new Error("no device");
    return d;
  };

  it("adoption: another TLS server at the address, claiming the MAC, gets no request; nothing is pinned", async () => {
    const d = device(0);
    const impostor = await startImpostor(d.mac);
    try {
      const out: TDeviceJobProgress[] = [];
      await adoptDevices(
        ZDiscoveryAdoptBodySchema.parse({
          devices: [
            { mac: d.mac, ip: IMPOSTOR_IP, port: impostor.port, certSha256: await sim.certificateFingerprint(d.mac) },
          ],
          credentials: { login: { username: USERNAME, password: PASSWORD } },
          install: { informUrl: "http://127.0.0.1:9/inform" },
          saveToVault: true,
        }),
        site,
        (p) => out.push(p),
      );
      expect(out).toEqual([{ mac: d.mac, ip: IMPOSTOR_IP, status: "failed", error: "certificate_changed" }]);
      expect(impostor.requests).toEqual([]);
      expect(site.pins.get(d.mac)).toBeUndefined();
      expect(site.vault.list({ offset: 0, limit: 10 }).total).toBe(0);
    } finally {
      await impostor.close();
    }
  });

  it("bulk generation: the same impostor gets no request and no pin", async () => {
    const d = device(1);
    const impostor = await startImpostor(d.mac);
    try {
      const out: TDeviceJobProgress[] = [];
      await generateCredentials(
        ZVaultGenerateBodySchema.parse({
          devices: [
            { mac: d.mac, ip: IMPOSTOR_IP, port: impostor.port, certSha256: await sim.certificateFingerprint(d.mac) },
          ],
          login: { username: USERNAME, password: PASSWORD },
        }),
        site,
        (p) => out.push(p),
      );
      expect(out).toEqual([{ mac: d.mac, ip: IMPOSTOR_IP, status: "failed", error: "certificate_changed" }]);
      expect(impostor.requests).toEqual([]);
      expect(site.pins.get(d.mac)).toBeUndefined();
      expect(site.vault.list({ offset: 0, limit: 10 }).total).toBe(0);
    } finally {
      await impostor.close();
    }
  });

  it("the real device presenting the approved certificate is adopted, and generation works on first contact", async () => {
    const a = device(0);
    const fpA = await sim.certificateFingerprint(a.mac);
    const adopted: TDeviceJobProgress[] = [];
    await adoptDevices(
      ZDiscoveryAdoptBodySchema.parse({
        devices: [{ mac: a.mac, ip: a.ip, port: sim.adminPort, certSha256: fpA }],
        credentials: { login: { username: USERNAME, password: PASSWORD } },
        install: { informUrl: "http://127.0.0.1:9/inform" },
      }),
      site,
      (p) => adopted.push(p),
    );
    expect(adopted).toEqual([{ mac: a.mac, ip: a.ip, status: "done", certSha256: fpA, pinned: true }]);
    expect(site.pins.get(a.mac)?.sha256).toBe(fpA);

    const g = device(2);
    const fpG = await sim.certificateFingerprint(g.mac);
    const generated: TDeviceJobProgress[] = [];
    await generateCredentials(
      ZVaultGenerateBodySchema.parse({
        devices: [{ mac: g.mac, ip: g.ip, port: sim.adminPort, certSha256: fpG }],
        login: { username: USERNAME, password: PASSWORD },
      }),
      site,
      (p) => generated.push(p),
    );
    expect(generated[0]).toMatchObject({ status: "done", certSha256: fpG, pinned: true });
  });
});
