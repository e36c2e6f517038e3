import https from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fromBase64Url,
  fromUtf8,
  generateBoxKeyPair,
  initiateSession,
  toBase64Url,
  utf8,
  type Session,
} from "../src/crypto";
import {
  encodeSessionOpen,
  SESSION_PROTOCOL_VERSION,
  ZE2EResponseSchema,
  type TE2EResponse,
  type TRelayFrame,
} from "../src/protocol";
import { systemClock } from "../src/clock";
import { silentLogger } from "../src/log";
import { openSiteServices, type SiteServices } from "../src/discovery/site-requests";
import { Responder } from "../src/e2e/responder";
import { createRequestHandlers } from "../src/e2e/requests/create-handlers";
import { makeSelfSignedCert } from "./harness/certs";
import { makeAccount, signGrant } from "./harness/fixtures";
import { waitUntil } from "./harness/browser";

const DEVICES = 32;
const DELAY_MS = 300;
const mac = (i: number) => `02:00:00:0e:00:${i.toString(16).padStart(2, "0")}`;
const ip = (i: number) => `127.0.14.${i + 2}`;

/** 32 slow devices (every answer waits 300 ms), each on its own address; every login is recorded. */
async function startSlowDevices(): Promise<{
  ports: number[];
  requests: string[];
  logins: number[];
  close(): Promise<void>;
}> {
  const cert = makeSelfSignedCert("slow-device");
  const requests: string[] = [];
  const logins: number[] = [];
  const servers = Array.from({ length: DEVICES }, (_, i) =>
    https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url === "/api/v1/login") logins.push(Date.now());
      req.resume();
      setTimeout(() => {
        if (req.url === "/api/v1/info")
          return res.end(
            JSON.stringify({
              mac: mac(i),
              model: "U7PG2",
              modelDisplay: "AP",
              firmware: "1",
              hostname: "ap",
              adopted: false,
            }),
          );
        if (req.url === "/api/v1/login") return res.end(JSON.stringify({ token: "A".repeat(43), expiresInSec: 60 }));
        res.end("{}");
      }, DELAY_MS);
    }),
  );
  await Promise.all(servers.map((s, i) => new Promise<void>((r) => s.listen(0, ip(i), r))));
  return {
    ports: servers.map((s) => (s.address() as AddressInfo).port),
    requests,
    logins,
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** The companion's session end over the real Responder, and a browser end that can open, send, read and leave. */
function companionEnd(site: SiteServices, role: "operator" | "admin" = "operator") {
  const instanceId = randomUUID();
  const admin = makeAccount();
  const account = makeAccount();
  const instanceBox = makeAccount().box;
  const out: TRelayFrame[] = [];
  const responder = new Responder({
    instanceId,
    boxPrivateKey: instanceBox.privateKey,
    signer: admin.identity.publicKey,
    handlers: createRequestHandlers({ rotateToken: () => Promise.resolve("x"), site: () => site }),
    send: (f) => out.push(f),
    clock: systemClock,
    logger: silentLogger,
  });
  const open = (sessionId: string): Session => {
    const pending = initiateSession({
      protocolVersion: SESSION_PROTOCOL_VERSION,
      instanceId,
      accountId: account.accountId,
      accountSecretKey: account.box.privateKey,
      instancePublicKey: instanceBox.publicKey,
    });
    const bundle = signGrant({ signer: admin, account, instanceId, role });
    responder.handleFrame({
      instanceId,
      sessionId,
      kind: "handshake",
      frame: toBase64Url(encodeSessionOpen(JSON.stringify(bundle), pending.message)),
    });
    const reply = out.shift();
    if (reply?.kind !== "handshake") throw new Error("no handshake reply");
    return pending.finish(fromBase64Url(reply.frame)).session;
  };
  const send = (sessionId: string, s: Session, type: string, body: unknown): string => {
    const id = randomUUID();
    const frame = s.seal(utf8(JSON.stringify({ kind: "request", id, expiresAt: Date.now() + 60_000, type, body })));
    responder.handleFrame({ instanceId, sessionId, kind: "transport", frame: toBase64Url(frame) });
    return id;
  };
  const read = (s: Session): TE2EResponse[] =>
    out
      .splice(0)
      .filter((f) => f.kind === "transport")
      .map((f) => ZE2EResponseSchema.parse(JSON.parse(fromUtf8(s.open(fromBase64Url(f.frame))))));
  /** The browser leaves: the console relays a close. */
  const leave = (sessionId: string) =>
    responder.handleFrame({ instanceId, sessionId, kind: "close", frame: toBase64Url(utf8("left")) });
  return { responder, account, open, send, read, leave };
}

describe("adoption and generation stop when nobody can see them any more", () => {
  let devices: Awaited<ReturnType<typeof startSlowDevices>>;
  let dir: string;
  let site: SiteServices;

  beforeAll(async () => {
    devices = await startSlowDevices();
    dir = mkdtempSync(join(tmpdir(), "veil-jobabort-"));
    site = openSiteServices({
      stateDir: dir,
      instanceId: randomUUID(),
      clock: systemClock,
      logger: silentLogger,
      scanRanges: "127.0.14.0/24",
    });
    await site.vault.init(toBase64Url(generateBoxKeyPair().publicKey), false);
  });
  afterAll(async () => {
    await devices.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const body = () => ({
    devices: devices.ports.map((port, i) => ({ mac: mac(i), ip: ip(i), port })),
    credentials: { login: { username: "admin", password: "Typed-Once-5c1e" } },
    install: { informUrl: "http://127.0.0.1:9/inform" },
  });

  for (const [how, stop] of [
    ["the browser leaves (session closed)", (end: ReturnType<typeof companionEnd>, sid: string) => end.leave(sid)],
    [
      "the grant is revoked",
      (end: ReturnType<typeof companionEnd>) => end.responder.closeRevoked(end.account.accountId, Date.now()),
    ],
    [
      "the browser cancels the progress stream",
      (end: ReturnType<typeof companionEnd>, sid: string, s: Session, subscriptionId: string) =>
        end.send(sid, s, "subscription.cancel", { subscriptionId }),
    ],
  ] as const) {
    it(`discovery.adopt of ${DEVICES} devices: once ${how}, no login reaches a device`, async () => {
      const end = companionEnd(site);
      const sid = toBase64Url(new Uint8Array(16).fill(7));
      const s = end.open(sid);
      const seen = devices.requests.length;
      const id = end.send(sid, s, "discovery.adopt", body());
      await waitUntil(() => end.read(s).some((r) => r.kind === "result" && r.id === id), 5000, "adoption started");
      // The first info requests are at the devices (each answers after 300 ms): stop now.
      await waitUntil(() => devices.requests.length > seen, 5000, "first device contacted");
      const loginsBefore = devices.logins.length;
      stop(end, sid, s, id);
      // Long enough for every device of the job to be reached at 16 at a time.
      await new Promise((r) => setTimeout(r, 6 * DELAY_MS + 500));
      expect(devices.logins.length - loginsBefore).toBe(0);
      expect(site.pins.get(mac(0))).toBeUndefined();
    });
  }
  it(`vault.generate of ${DEVICES} devices: once the browser leaves, no login reaches a device and nothing is sealed`, async () => {
    const end = companionEnd(site, "admin");
    const sid = toBase64Url(new Uint8Array(16).fill(8));
    const s = end.open(sid);
    const seen = devices.requests.length;
    const b = body();
    const id = end.send(sid, s, "vault.generate", { devices: b.devices, login: b.credentials.login });
    await waitUntil(() => end.read(s).some((r) => r.kind === "result" && r.id === id), 5000, "generation started");
    await waitUntil(() => devices.requests.length > seen, 5000, "first device contacted");
    const loginsBefore = devices.logins.length;
    end.leave(sid);
    await new Promise((r) => setTimeout(r, 6 * DELAY_MS + 500));
    expect(devices.logins.length - loginsBefore).toBe(0);
    expect(site.vault.list({ offset: 0, limit: 100 }).total).toBe(0);
  });

  // The control: the same job left running logs in to every device (so the tests above are not vacuous).
  it(`discovery.adopt of ${DEVICES} devices left running logs in to all of them`, async () => {
    const end = companionEnd(site);
    const sid = toBase64Url(new Uint8Array(16).fill(9));
    const s = end.open(sid);
    const loginsBefore = devices.logins.length;
    end.send(sid, s, "discovery.adopt", body());
    await waitUntil(() => devices.logins.length - loginsBefore === DEVICES, 10_000, "every device logged in to");
    await waitUntil(() => devices.ports.every((_, i) => site.pins.get(mac(i)) !== undefined), 5000, "all pinned");
  });
});
