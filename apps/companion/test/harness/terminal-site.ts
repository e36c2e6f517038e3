/**
 * A site for the terminal tests: a test console, an enrolled companion with its device side,
 * three simulated Veil devices, one UniFi device and (on request) one Veil device on firmware
 * without per-terminal flow control, plus helpers that drive a terminal from a browser session.
 * `useTerminalSite` registers the set-up and tear-down with vitest.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { startSimulator, type SimulatorHandle } from "../../../simulator/src/index";
import type { DeviceService } from "../../src/devices/device-service";
import type { RunningCompanion } from "../../src/run/start-companion";
import type { TE2EResponse, TTerminalOutputEvent } from "../../src/protocol";
import { makeSelfSignedCert } from "./certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./companion";
import { makeAccount, makeInstance, signGrant, type TestAccount, type TestInstance } from "./fixtures";
import { BrowserSession, waitUntil } from "./browser";
import { TestConsole } from "./test-console";

export const SCALE = 0.05;
export const IDLE_MS = 1500;
/** Shorter than IDLE_MS: a terminal whose browser stopped acknowledging is ended for that, not for idling. */
export const STALL_MS = 1000;
/** The push-stream window here (the default is 1 MiB): a quarter of it must be acknowledged for output to go on. */
export const WINDOW = 256 * 1024;

export const b64 = (text: string): string => Buffer.from(text).toString("base64url");

export const result = <T>(r: TE2EResponse): T => {
  if (r.kind !== "result") throw new Error(`expected a result, got ${JSON.stringify(r)}`);
  return r.body as T;
};

/** Everything one terminal printed so far, and how it closed. */
export function screen(b: BrowserSession, id: string): { text: string; closed?: TTerminalOutputEvent; ended?: string } {
  let text = "";
  let closed: TTerminalOutputEvent | undefined;
  let ended: string | undefined;
  for (const e of b.events) {
    if (e.subscriptionId !== id) continue;
    if (e.kind === "end") ended = e.reason;
    else {
      expect(e.type).toBe("terminal.output");
      const body = e.body as TTerminalOutputEvent;
      if (body.kind === "data") text += Buffer.from(body.data, "base64url").toString("utf8");
      else closed = body;
    }
  }
  return { text, ...(closed ? { closed } : {}), ...(ended ? { ended } : {}) };
}

/** The events of terminal `id` so far, and the JSON bytes of their bodies after event `after`. */
export function outputOf(b: BrowserSession, id: string, after = -1): { last: number; bytesAfter: number } {
  let last = -1;
  let bytesAfter = 0;
  for (const e of b.events) {
    if (e.kind !== "event" || e.subscriptionId !== id) continue;
    last = e.seq;
    if (e.seq > after) bytesAfter += JSON.stringify(e.body).length;
  }
  return { last, bytesAfter };
}

/** The running site; its fields are set once `beforeAll` ran. */
export interface TerminalSite {
  readonly consoleServer: TestConsole;
  readonly lines: string[];
  admin: TestAccount;
  instance: TestInstance;
  companion: RunningCompanion;
  service: DeviceService;
  veilSim: SimulatorHandle;
  unifiSim: SimulatorHandle;
  /** One Veil device without per-terminal flow control (`legacyDevice: true` only). */
  legacySim: SimulatorHandle | undefined;
  /** A browser session of a new account (the admin's for `admin`) with a grant of that role. */
  browser: (role: "viewer" | "auditor" | "operator" | "admin") => Promise<BrowserSession>;
  openTerminal: (b: BrowserSession, mac: string) => Promise<string>;
  /** Types `text` into terminal `id` and checks that the companion took all of it. */
  type: (b: BrowserSession, id: string, text: string) => Promise<void>;
}

/** Starts the site before the file's tests and stops it after them. */
export function useTerminalSite(
  options: { legacyDevice?: boolean; stallMs?: number; idleMs?: number } = {},
): TerminalSite {
  const cert = makeSelfSignedCert();
  const state = tempStateDir();
  const { logger, lines } = captureLogger();
  const open: BrowserSession[] = [];
  const sims: SimulatorHandle[] = [];
  const site = { consoleServer: new TestConsole(cert), lines, legacySim: undefined } as TerminalSite;
  site.browser = async (role) => {
    const account = role === "admin" ? site.admin : makeAccount();
    const b = new BrowserSession(site.consoleServer, {
      instanceId: site.instance.instanceId,
      instanceBoxPublicKey: site.instance.box.publicKey,
      account,
      bundle: signGrant({ signer: site.admin, account, instanceId: site.instance.instanceId, role }),
    });
    await b.open();
    open.push(b);
    return b;
  };
  site.openTerminal = async (b, mac) =>
    result<{ subscriptionId: string }>(await b.request("terminal.open", { mac, cols: 100, rows: 30 })).subscriptionId;
  site.type = async (b, id, text) => {
    const answer = await b.request("terminal.input", { subscriptionId: id, data: b64(text) });
    expect(result<{ accepted: number }>(answer)).toEqual({ accepted: Buffer.byteLength(text) });
  };

  beforeAll(async () => {
    await site.consoleServer.start();
    site.admin = makeAccount();
    site.instance = await makeInstance(site.admin, "terminal-site");
    site.consoleServer.instances.set(site.instance.instanceId, site.instance.record);
    await enrollInto(state.dir, site.instance.enrollment(site.consoleServer.url, cert.pin), logger);
    site.companion = runCompanion(state.dir, logger, {
      devices: {
        bindHost: "127.0.0.1",
        publicHost: "127.0.0.1",
        informPort: 0,
        channelPort: 0,
        intervalSec: 4,
        timeScale: SCALE,
      },
      terminalLimits: { idleTimeoutMs: options.idleMs ?? IDLE_MS },
      pushStreamLimits: { stallMs: options.stallMs ?? STALL_MS, windowBytes: WINDOW },
    });
    const service = await (site.companion.devices ?? Promise.reject(new Error("no device service")));
    site.service = service;
    await waitUntil(() => site.consoleServer.isOnline(site.instance.instanceId), 5000, "companion online");
    const adminB = await site.browser("admin");
    const siteKey = result<{ siteKey: string }>(await adminB.request("siteKey.get")).siteKey;
    const common = {
      devices: 3,
      admin: false,
      discovery: "off",
      timeScale: SCALE,
      startSpreadMs: 200,
      faultRate: 0,
    } as const;
    const started = await Promise.all([
      startSimulator({ ...common, seed: 61, siteKey, rebootMs: 2000 }),
      startSimulator({ ...common, devices: 1, seed: 62, informUrl: `http://127.0.0.1:${service.informPort}/inform` }),
      ...(options.legacyDevice === true
        ? [startSimulator({ ...common, devices: 1, seed: 63, siteKey, terminalCredit: false })]
        : []),
    ]);
    sims.push(...started);
    [site.veilSim, site.unifiSim] = started as [SimulatorHandle, SimulatorHandle];
    site.legacySim = started[2];
    const veil = [...site.veilSim.devices, ...(site.legacySim?.devices ?? [])];
    await waitUntil(
      () =>
        veil.every((d) => service.ctx.channels.has(d.mac)) && service.ctx.inventory.devices.size === veil.length + 1,
      15_000,
      "Veil devices on their channel, the UniFi device reporting",
    );
  }, 40_000);

  afterAll(async () => {
    for (const b of open) b.dispose();
    await Promise.all(sims.map((s) => s.stop()));
    site.companion.stop();
    await site.companion.finished;
    await site.consoleServer.stop();
    state.cleanup();
  }, 30_000);

  return site;
}
