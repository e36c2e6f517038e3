import { X509Certificate } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type SimulatorHandle } from "../src/index";
import { startInformReceiver, waitFor, type InformReceiver } from "./helpers/inform-receiver";

interface Res {
  status: number;
  json: Record<string, unknown>;
  fingerprint: string;
}

function call(host: string, port: number, path: string, body?: unknown, token?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port,
        path,
        method: body === undefined ? "GET" : "POST",
        rejectUnauthorized: false,
        agent: false,
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        const raw = (res.socket as TLSSocket).getPeerCertificate().raw;
        const fingerprint = new X509Certificate(raw).fingerprint256.replaceAll(":", "").toLowerCase();
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, unknown>,
            fingerprint,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe("adoption over HTTPS only", () => {
  let sim: SimulatorHandle;
  let rx: InformReceiver;

  beforeAll(async () => {
    rx = await startInformReceiver(4);
    sim = await startSimulator({
      devices: 3,
      seed: 5,
      adminPort: 0,
      discovery: "off",
      firstAddress: "127.0.2.10",
      timeScale: 0.05,
      faultRate: 0,
    });
  });
  afterAll(async () => {
    await sim.stop();
    await rx.close();
  });

  const dev = (i: number) => {
    const d = sim.devices[i];
    if (!d) throw new Error("no device");
    return d;
  };

  it("serves each device its own certificate, picked by the address dialled", async () => {
    const a = await call(dev(0).ip, sim.adminPort, "/api/v1/info");
    const b = await call(dev(1).ip, sim.adminPort, "/api/v1/info");
    expect(a.json).toMatchObject({ mac: dev(0).mac, adopted: false });
    expect(b.json).toMatchObject({ mac: dev(1).mac });
    expect(a.fingerprint).toBe(await sim.certificateFingerprint(dev(0).mac));
    expect(a.fingerprint).not.toBe(b.fingerprint);
  });

  it("refuses plain HTTP on the management port", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = http.request({ host: dev(0).ip, port: sim.adminPort, path: "/api/v1/info", agent: false }, (res) =>
        resolve(`status ${res.statusCode}`),
      );
      req.on("error", (e) => resolve(`error ${e.message}`));
      req.setTimeout(2000, () => req.destroy(new Error("timeout")));
      req.end();
    });
    expect(outcome.startsWith("error")).toBe(true);
  });

  it("logs in with ubnt/ubnt, refuses a wrong password, and needs a token for adopt", async () => {
    expect(
      (await call(dev(0).ip, sim.adminPort, "/api/v1/login", { username: "ubnt", password: "wrong" })).status,
    ).toBe(401);
    expect((await call(dev(0).ip, sim.adminPort, "/api/v1/adopt", { informUrl: rx.url })).status).toBe(401);
    const ok = await call(dev(0).ip, sim.adminPort, "/api/v1/login", { username: "ubnt", password: "ubnt" });
    expect(ok.status).toBe(200);
    expect(typeof ok.json.token).toBe("string");
    // A token for one device is worthless on another.
    expect(
      (await call(dev(1).ip, sim.adminPort, "/api/v1/adopt", { informUrl: rx.url }, ok.json.token as string)).status,
    ).toBe(401);
  });

  it("adopt sets the inform URL and the device starts informing", async () => {
    const { json } = await call(dev(0).ip, sim.adminPort, "/api/v1/login", { username: "ubnt", password: "ubnt" });
    const res = await call(dev(0).ip, sim.adminPort, "/api/v1/adopt", { informUrl: rx.url }, json.token as string);
    expect(res.status).toBe(200);
    await waitFor(() => (rx.devices.get(dev(0).mac)?.informsAuthkey ?? 0) >= 1, 10_000, "informs after adoption");
    expect(dev(0).unifi.authkey).toBe(rx.devices.get(dev(0).mac)?.authkey);
  });

  it("sets a new credential: the old one stops working, the new one works", async () => {
    const { json } = await call(dev(1).ip, sim.adminPort, "/api/v1/login", { username: "ubnt", password: "ubnt" });
    const pw = "correct-horse-battery-staple";
    expect(
      (
        await call(
          dev(1).ip,
          sim.adminPort,
          "/api/v1/credentials",
          { username: "admin", password: pw },
          json.token as string,
        )
      ).status,
    ).toBe(200);
    expect((await call(dev(1).ip, sim.adminPort, "/api/v1/login", { username: "ubnt", password: "ubnt" })).status).toBe(
      401,
    );
    expect((await call(dev(1).ip, sim.adminPort, "/api/v1/login", { username: "admin", password: pw })).status).toBe(
      200,
    );
  });

  it("runs shell commands for a logged-in caller", async () => {
    const { json } = await call(dev(2).ip, sim.adminPort, "/api/v1/login", { username: "ubnt", password: "ubnt" });
    const r = await call(dev(2).ip, sim.adminPort, "/api/v1/shell", { command: "uname -a" }, json.token as string);
    expect(r.json.ok).toBe(true);
    expect(r.json.output).toContain(dev(2).spec.model);
  });

  it("locks out after five wrong passwords", async () => {
    for (let i = 0; i < 5; i++)
      await call(dev(2).ip, sim.adminPort, "/api/v1/login", { username: "ubnt", password: `bad${i}` });
    expect((await call(dev(2).ip, sim.adminPort, "/api/v1/login", { username: "ubnt", password: "ubnt" })).status).toBe(
      429,
    );
  });

  it("rotating a device's certificate changes its fingerprint", async () => {
    const before = await sim.certificateFingerprint(dev(1).mac);
    const after = await sim.rotateCertificate(dev(1).mac);
    expect(after).not.toBe(before);
    expect((await call(dev(1).ip, sim.adminPort, "/api/v1/info")).fingerprint).toBe(after);
  });
});
