import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { systemClock } from "../src/clock";
import { createJsonLogger } from "../src/log";
import { generateBoxKeyPair, toBase64Url } from "../src/crypto";
import { openSiteServices, type SiteServices } from "../src/discovery/site-requests";
import { adoptDevices } from "../src/adoption/adopt-devices";
import { assertHttpsUrl } from "../src/adoption/device-https";
import { ZDiscoveryAdoptBodySchema, type TDeviceJobProgress, type TDiscoveryAdoptBody } from "../src/protocol";

const PASSWORD = "Adopt-Once-7f3c9a2b";
const USERNAME = "siteadmin";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("adoption over pinned HTTPS", () => {
  let sim: SimulatorHandle;
  let dir: string;
  let site: SiteServices;
  const logLines: string[] = [];
  const vaultKey = generateBoxKeyPair();

  const body = (input: unknown): TDiscoveryAdoptBody => ZDiscoveryAdoptBodySchema.parse(input);
  const targets = (n: number) => sim.devices.slice(0, n).map((d) => ({ mac: d.mac, ip: d.ip, port: sim.adminPort }));
  const adopt = async (input: unknown): Promise<TDeviceJobProgress[]> => {
    const out: TDeviceJobProgress[] = [];
    await adoptDevices(body(input), site, (p) => out.push(p));
    return out;
  };

  beforeAll(async () => {
    sim = await startSimulator({
      devices: 6,
      seed: 11,
      firstAddress: "127.0.5.2",
      discovery: "off",
      adminPort: 0,
      username: USERNAME,
      password: PASSWORD,
      faultRate: 0,
    });
    dir = mkdtempSync(join(tmpdir(), "veil-adopt-"));
    site = openSiteServices({
      stateDir: dir,
      instanceId: randomUUID(),
      clock: systemClock,
      logger: createJsonLogger({ level: "debug", write: (l) => logLines.push(l) }),
      scanRanges: "127.0.5.0/24",
    });
    await site.vault.init(toBase64Url(vaultKey.publicKey), false);
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("adopts with credentials used once: pinned, installed, and absent from every file and log line", async () => {
    const progress = await adopt({
      devices: targets(3),
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
    });
    expect(progress.map((p) => p.status)).toEqual(["done", "done", "done"]);
    for (const d of sim.devices.slice(0, 3)) {
      expect(d.unifi.informUrl).toBe("http://127.0.0.1:9/inform");
      const p = progress.find((x) => x.mac === d.mac);
      expect(p).toMatchObject({ pinned: true, certSha256: await sim.certificateFingerprint(d.mac) });
      expect(site.pins.get(d.mac)?.adoptedAt).toBeGreaterThan(0);
    }
    const needles = [PASSWORD, Buffer.from(PASSWORD).toString("base64"), Buffer.from(PASSWORD).toString("base64url")];
    for (const file of filesUnder(dir)) {
      const text = readFileSync(file).toString("latin1");
      for (const n of needles) expect(text.includes(n), `${file} holds the credential`).toBe(false);
      expect(statSync(file).mode & 0o077).toBe(0);
    }
    for (const l of logLines) expect(l.includes(PASSWORD)).toBe(false);
    expect(site.vault.list({ offset: 0, limit: 100 }).total).toBe(0);
  });

  it("refuses plain HTTP: nothing reaches a plain-HTTP server, and http:// URLs are refused", async () => {
    const received: string[] = [];
    const server = http.createServer((req, res) => {
      req.on("data", (c: Buffer) => received.push(c.toString()));
      req.on("end", () => res.end("{}"));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.5.200", r));
    const port = (server.address() as AddressInfo).port;
    const progress = await adopt({
      devices: [{ mac: "02:00:00:00:00:01", ip: "127.0.5.200", port }],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
    });
    await new Promise<void>((r) => server.close(() => r()));
    expect(progress).toEqual([{ mac: "02:00:00:00:00:01", ip: "127.0.5.200", status: "failed", error: "unreachable" }]);
    expect(received.join("")).not.toContain(PASSWORD);
    expect(() => assertHttpsUrl("http://127.0.5.2/api/v1/login")).toThrow(/https/);
  });

  it("refuses targets outside the scan scope", async () => {
    const progress = await adopt({
      devices: [{ mac: sim.devices[0]?.mac, ip: "10.9.9.9", port: 443 }],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
    });
    expect(progress[0]).toMatchObject({ status: "failed", error: "out_of_scope" });
  });

  it("a changed device certificate stops the vault from sending credentials", async () => {
    const [t] = targets(5).slice(4);
    if (t === undefined) throw new Error("no device");
    const first = await adopt({
      devices: [t],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
      saveToVault: true,
    });
    expect(first[0]).toMatchObject({ status: "done" });
    const entryId = first[0]?.vaultEntryId;
    expect(entryId).toBeDefined();
    // The saved credential is sealed: not in any file.
    for (const file of filesUnder(dir)) expect(readFileSync(file, "latin1").includes(PASSWORD)).toBe(false);

    // Unlocked, the stored credential works while the certificate is the one it was saved with.
    expect(site.vault.unlock(toBase64Url(vaultKey.privateKey), 5).status).toBe("unlocked");
    const reused = await adopt({
      devices: [t],
      credentials: { vaultEntryId: entryId },
      install: { informUrl: "http://127.0.0.1:9/inform" },
    });
    expect(reused[0]).toMatchObject({ status: "done", pinned: false });

    await sim.rotateCertificate(t.mac);
    const requestsBefore = sim.stats().adminRequests;
    const locked = await adopt({
      devices: [t],
      credentials: { vaultEntryId: entryId },
      install: { informUrl: "http://127.0.0.1:9/inform" },
      trustNewCertificate: true,
    });
    // Pin checked right after the TLS handshake, before a request byte: the device saw nothing.
    expect(locked[0]).toMatchObject({ status: "failed", error: "certificate_changed" });
    expect(sim.stats().adminRequests).toBe(requestsBefore);

    // Typed credentials: refused too, unless the operator explicitly trusts the new certificate.
    const typed = await adopt({
      devices: [t],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
    });
    expect(typed[0]).toMatchObject({ status: "failed", error: "certificate_changed" });
    // Trusting "a new certificate" names which one: not the one seen in the scan → refused,
    // before any request reaches the device.
    const seenBefore = sim.stats().adminRequests;
    const otherCert = await adopt({
      devices: [{ ...t, certSha256: "0".repeat(64) }],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
      trustNewCertificate: true,
    });
    expect(otherCert[0]).toMatchObject({ status: "failed", error: "certificate_changed" });
    const unnamed = await adopt({
      devices: [t],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
      trustNewCertificate: true,
    });
    expect(unnamed[0]).toMatchObject({ status: "failed", error: "certificate_changed" });
    expect(sim.stats().adminRequests).toBe(seenBefore);
    const trusted = await adopt({
      devices: [{ ...t, certSha256: await sim.certificateFingerprint(t.mac) }],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
      trustNewCertificate: true,
    });
    expect(trusted[0]).toMatchObject({
      status: "done",
      pinned: true,
      certSha256: await sim.certificateFingerprint(t.mac),
    });
    // The vault entry was saved for the old certificate: still never sent to the new one.
    const again = await adopt({
      devices: [t],
      credentials: { vaultEntryId: entryId },
      install: { informUrl: "http://127.0.0.1:9/inform" },
    });
    expect(again[0]).toMatchObject({ status: "failed", error: "certificate_changed" });
    site.vault.lock();
  });

  it("a device answering with another MAC is not logged in to", async () => {
    const a = targets(6)[5];
    if (a === undefined) throw new Error("no device");
    const before = sim.stats();
    const progress = await adopt({
      devices: [{ ...a, mac: "02:00:00:00:00:99" }],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { informUrl: "http://127.0.0.1:9/inform" },
    });
    expect(progress[0]).toMatchObject({ status: "failed", error: "mac_mismatch" });
    expect(site.pins.get("02:00:00:00:00:99")).toBeUndefined();
    // The device holds exactly these credentials, so a log-in would have succeeded: the proof is
    // that the device saw one request only, the unauthenticated GET /api/v1/info.
    expect(sim.stats().adminRequests).toBe(before.adminRequests + 1);
    expect(sim.stats().adminLoginFailures).toBe(before.adminLoginFailures);
    expect(sim.devices[5]?.unifi.informUrl).toBeUndefined();
  });
});
