import dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { buildUbdpReply } from "@veil/devices";
import { systemClock } from "../src/clock";
import { PinStore } from "../src/adoption/pin-store";
import { runScan } from "../src/discovery/discovery-scan";
import { silentLogger } from "../src/log";
import type { VerifiedGrant } from "../src/grants/verify-grant";
import type { RequestContext } from "../src/e2e/request-context";
import { createSiteRequestHandlers, openSiteServices, type SiteServices } from "../src/discovery/site-requests";
import { checkAddress, planScan, scopeFromConfig } from "../src/discovery/scope";
import {
  MAX_E2E_MESSAGE_BYTES,
  REQUEST_CATALOGUE,
  roleAllows,
  ZDiscoveryResultsEventSchema,
  ZDiscoveryStartResultSchema,
  type TDiscoveredDevice,
  type TDiscoveryResultsEvent,
} from "../src/protocol";

/** A request context whose subscription events are collected; `ended` resolves at the end. */
function fakeContext(accountId = randomUUID()): { ctx: RequestContext; events: unknown[]; ended: Promise<void> } {
  const events: unknown[] = [];
  const timers = new Map<string, NodeJS.Timeout>();
  let resolveEnd: () => void = () => undefined;
  const ended = new Promise<void>((r) => (resolveEnd = r));
  const ctx: RequestContext = {
    instanceId: randomUUID(),
    grant: { accountId, role: "operator" } as unknown as VerifiedGrant,
    requestId: randomUUID(),
    now: () => Date.now(),
    subscribe: ({ intervalMs, produce }) => {
      const id = ctx.requestId;
      timers.set(
        id,
        setInterval(() => {
          const body = produce();
          if (body !== undefined) events.push(body);
        }, intervalMs),
      );
      return id;
    },
    cancelSubscription: (id) => {
      const t = timers.get(id);
      if (t === undefined) return false;
      clearInterval(t);
      timers.delete(id);
      resolveEnd();
      return true;
    },
  };
  return { ctx, events, ended };
}

describe("discovery scope (SSRF guard)", () => {
  const resolver = (map: Record<string, string[]>) => (host: string) => Promise.resolve(map[host] ?? []);

  it("refuses loopback, link-local and the metadata address by default", async () => {
    const scope = scopeFromConfig(undefined);
    expect(checkAddress(scope, "127.0.0.1")).toBe("loopback");
    expect(checkAddress(scope, "169.254.169.254")).toBe("metadata");
    expect(checkAddress(scope, "169.254.10.1")).toBe("link_local");
    const plan = await planScan(scope, ["127.0.0.0/30", "169.254.169.254", "169.254.0.0/24"]);
    expect(plan.hosts).toEqual([]);
    expect(plan.refused.map((r) => r.reason)).toEqual(["loopback", "metadata", "link_local"]);
  });

  it("allows special ranges only when the local configuration names them; metadata only as itself", () => {
    const scope = scopeFromConfig("10.0.0.0/8, 169.254.0.0/16");
    expect(checkAddress(scope, "127.0.0.5")).toBe("loopback");
    expect(checkAddress(scope, "169.254.1.1")).toBeUndefined();
    expect(checkAddress(scope, "169.254.169.254")).toBe("metadata");
    expect(checkAddress(scope, "192.168.1.1")).toBe("not_allowed");
    expect(checkAddress(scopeFromConfig("169.254.169.254/32"), "169.254.169.254")).toBeUndefined();
    expect(checkAddress(scopeFromConfig("127.0.0.0/8"), "127.0.0.9")).toBeUndefined();
    expect(checkAddress(scope, "::1")).toBe("ipv6");
  });

  it("resolves names first, checks every address, and dials only the checked addresses", async () => {
    const scope = scopeFromConfig("10.0.0.0/24");
    const r = resolver({
      "ok.lan": ["10.0.0.7"],
      "mixed.lan": ["10.0.0.8", "127.0.0.1"],
      "meta.lan": ["169.254.169.254"],
      "far.lan": ["192.0.2.1"],
    });
    const ok = await planScan(scope, ["ok.lan"], { resolver: r });
    expect(ok).toEqual({ hosts: ["10.0.0.7"], refused: [] });
    const bad = await planScan(scope, ["mixed.lan", "meta.lan", "far.lan", "nothing.lan"], { resolver: r });
    expect(bad.hosts).toEqual([]);
    expect(bad.refused).toEqual([
      { target: "mixed.lan", reason: "loopback" },
      { target: "meta.lan", reason: "metadata" },
      { target: "far.lan", reason: "not_allowed" },
      { target: "nothing.lan", reason: "unresolvable" },
    ]);
    // The real resolver: localhost resolves into loopback, refused without configuration.
    const local = await planScan(scopeFromConfig("10.0.0.0/24"), ["localhost"]);
    expect(local.refused[0]?.reason).toMatch(/loopback|ipv6/);
  });

  it("refuses more than 1,024 hosts per scan", async () => {
    const scope = scopeFromConfig("10.0.0.0/8");
    expect((await planScan(scope, ["10.0.0.0/21"])).refused).toEqual([
      { target: "10.0.0.0/21", reason: "too_many_hosts" },
    ]);
    expect((await planScan(scope, ["10.0.0.0/22", "10.0.4.0/31"])).hosts).toHaveLength(1024);
    expect((await planScan(scope, ["10.0.0.0/22", "10.0.4.0/29"])).refused).toEqual([
      { target: "(total)", reason: "too_many_hosts" },
    ]);
    // No targets: the configured ranges, still capped.
    expect((await planScan(scope, undefined)).refused[0]?.reason).toBe("too_many_hosts");
    expect((await planScan(scope, ["not a host!", "10.0.0.1/33"])).refused.map((x) => x.reason)).toEqual([
      "malformed",
      "malformed",
    ]);
  });

  it("discovery and adoption need operator or above", () => {
    expect(roleAllows("viewer", REQUEST_CATALOGUE["discovery.start"])).toBe(false);
    expect(roleAllows("auditor", REQUEST_CATALOGUE["discovery.adopt"])).toBe(false);
    expect(roleAllows("operator", REQUEST_CATALOGUE["discovery.start"])).toBe(true);
    expect(roleAllows("operator", REQUEST_CATALOGUE["vault.unlock"])).toBe(false);
    expect(roleAllows("admin", REQUEST_CATALOGUE["vault.generate"])).toBe(true);
  });
});

describe("discovery of simulated devices on 127.0.0.0/8", () => {
  let sim: SimulatorHandle;
  let dir: string;
  let site: SiteServices;

  beforeAll(async () => {
    sim = await startSimulator({
      devices: 12,
      seed: 7,
      firstAddress: "127.0.3.2",
      discovery: "per-device",
      discoveryPort: 0,
      adminPort: 0,
      faultRate: 0,
      startSpreadMs: 0,
    });
    dir = mkdtempSync(join(tmpdir(), "veil-discovery-"));
    site = openSiteServices({
      stateDir: dir,
      instanceId: randomUUID(),
      clock: systemClock,
      logger: silentLogger,
      scanRanges: "127.0.3.0/24",
      ubdpPort: sim.discoveryPort,
      httpsPort: sim.adminPort,
      isAdopted: (mac) => mac === sim.devices[0]?.mac,
    });
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("streams every device with MAC, IP, model, firmware, hostname and certificate", async () => {
    const handlers = createSiteRequestHandlers(() => site);
    const { ctx, events, ended } = fakeContext();
    const started = ZDiscoveryStartResultSchema.parse(
      await handlers["discovery.start"](
        { targets: ["127.0.3.0/28"], broadcast: false, durationMs: 3000, https: "responders", maxResults: 1024 },
        ctx,
      ),
    );
    expect(started).toMatchObject({ status: "started", hosts: 14 });
    await ended;
    const parsed = events.map((e) => ZDiscoveryResultsEventSchema.parse(e));
    expect(parsed.at(-1)?.done).toBe(true);
    const byMac = new Map<string, TDiscoveredDevice[]>();
    for (const r of parsed.flatMap((e: TDiscoveryResultsEvent) => e.results))
      byMac.set(r.mac, [...(byMac.get(r.mac) ?? []), r]);
    expect(byMac.size).toBe(12);
    for (const d of sim.devices) {
      const seen = byMac.get(d.mac) ?? [];
      const ubdp = seen.find((r) => r.source === "ubdp");
      const https = seen.find((r) => r.source === "https");
      expect(ubdp).toMatchObject({
        ip: d.ip,
        model: d.spec.model,
        firmware: d.firmware,
        hostname: d.hostname,
        adopted: d === sim.devices[0],
      });
      expect(https?.certSha256).toBe(await sim.certificateFingerprint(d.mac));
    }
    // Two probes (v1, v2) per host, and the same again for each host that stayed silent (14 hosts,
    // 12 devices): the second round catches replies lost while TLS work held the event loop.
    expect(parsed.at(-1)?.stats.probesSent).toBe(14 * 2 + (14 - 12) * 2);
  });

  it("refuses an out-of-scope target without sending anything", async () => {
    const handlers = createSiteRequestHandlers(() => site);
    const before = sim.stats().ubdpReplies;
    // A listener where the first target would be probed: it must hear nothing.
    const heard: Buffer[] = [];
    const listener = dgram.createSocket("udp4");
    listener.on("message", (m) => heard.push(m));
    await new Promise<void>((r) => listener.bind(sim.discoveryPort, "127.0.4.1", r));
    for (const target of ["127.0.4.1", "169.254.169.254", "169.254.0.9", "127.0.0.0/21"]) {
      const r = ZDiscoveryStartResultSchema.parse(
        await handlers["discovery.start"](
          { targets: [target], broadcast: false, durationMs: 1000, https: "off", maxResults: 10 },
          fakeContext().ctx,
        ),
      );
      expect(r.status).toBe("refused");
    }
    await new Promise((r) => setTimeout(r, 300));
    listener.close();
    expect(heard).toEqual([]);
    expect(sim.stats().ubdpReplies).toBe(before);
  });

  it("is cancellable, and only by the account that started it", async () => {
    const handlers = createSiteRequestHandlers(() => site);
    const { ctx, events, ended } = fakeContext();
    const started = ZDiscoveryStartResultSchema.parse(
      await handlers["discovery.start"](
        { targets: ["127.0.3.0/24"], broadcast: false, durationMs: 30_000, https: "all", maxResults: 1024 },
        ctx,
      ),
    );
    if (started.status !== "started") throw new Error("not started");
    expect(await handlers["discovery.cancel"]({ subscriptionId: started.subscriptionId }, fakeContext().ctx)).toEqual({
      cancelled: false,
    });
    const t0 = Date.now();
    expect(await handlers["discovery.cancel"]({ subscriptionId: started.subscriptionId }, ctx)).toEqual({
      cancelled: true,
    });
    await ended;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(ZDiscoveryResultsEventSchema.parse(events.at(-1)).reason).toBe("cancelled");
  });
});

describe("discovery: a reply lost in the first round", () => {
  it("asks the silent host again once, and finds it", async () => {
    // A "device" that drops the first two probes (v1 and v2), as a busy event loop would lose
    // their replies, and answers from the second round on.
    const device = dgram.createSocket("udp4");
    await new Promise<void>((r) => device.bind(0, "127.0.4.9", () => r()));
    let probes = 0;
    device.on("message", (_m, rinfo) => {
      probes += 1;
      if (probes <= 2) return;
      device.send(
        buildUbdpReply({ mac: "02:76:00:00:04:09", hostname: "late", model: "U6LR" }),
        rinfo.port,
        rinfo.address,
      );
    });
    const dir = mkdtempSync(join(tmpdir(), "veil-disc-retry-"));
    try {
      const found: string[] = [];
      const { stats } = await runScan({
        hosts: ["127.0.4.9"],
        scope: scopeFromConfig("127.0.4.0/24"),
        pins: new PinStore(dir),
        durationMs: 3000,
        broadcast: false,
        https: "off",
        maxResults: 16,
        now: Date.now,
        ubdpPort: (device.address() as { port: number }).port,
        onResult: (d) => found.push(d.hostname),
        signal: new AbortController().signal,
      });
      expect(found).toContain("late");
      expect(stats.probesSent).toBe(4);
    } finally {
      device.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("discovery: what a LAN host answers cannot make an event exceed the E2E message limit", () => {
  it("a host answering for 120 made-up devices with every text field full of quotes gets them all delivered, each event under the limit", async () => {
    // `"` survives the companion's text filter and costs 2 bytes of JSON: a result is ~800 bytes,
    // so 100 of them (the batch cap) would be ~80 KB.
    const device = dgram.createSocket("udp4");
    await new Promise<void>((r) => device.bind(0, "127.0.5.9", () => r()));
    const macs = Array.from({ length: 120 }, (_, i) => `02:77:00:00:00:${i.toString(16).padStart(2, "0")}`);
    let answered = false;
    device.on("message", (_m, rinfo) => {
      if (answered) return;
      answered = true;
      for (const mac of macs)
        device.send(
          buildUbdpReply({
            mac,
            hostname: '"'.repeat(64),
            model: '"'.repeat(64),
            modelType: "\\".repeat(64),
            firmware: '"'.repeat(64),
          }),
          rinfo.port,
          rinfo.address,
        );
    });
    const dir = mkdtempSync(join(tmpdir(), "veil-disc-size-"));
    try {
      const site = openSiteServices({
        stateDir: dir,
        instanceId: randomUUID(),
        clock: systemClock,
        logger: silentLogger,
        scanRanges: "127.0.5.0/24",
        ubdpPort: (device.address() as { port: number }).port,
      });
      const { ctx, events, ended } = fakeContext();
      const started = ZDiscoveryStartResultSchema.parse(
        await createSiteRequestHandlers(() => site)["discovery.start"](
          { targets: ["127.0.5.9"], broadcast: false, durationMs: 3000, https: "off", maxResults: 1024 },
          ctx,
        ),
      );
      expect(started.status).toBe("started");
      await ended;
      for (const body of events) {
        const sealed = JSON.stringify({
          kind: "event",
          subscriptionId: randomUUID(),
          seq: 1e6,
          type: "discovery.results",
          body,
        });
        expect(Buffer.byteLength(sealed)).toBeLessThanOrEqual(MAX_E2E_MESSAGE_BYTES);
      }
      const results = events.flatMap((e) => ZDiscoveryResultsEventSchema.parse(e).results);
      expect(results.length).toBe(120);
      expect(new Set(results.map((r) => r.mac))).toEqual(new Set(macs));
      expect(results[0]?.hostname).toBe('"'.repeat(64));
    } finally {
      device.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("discovery: the limit of scans running at once", () => {
  it("holds when many sessions start a scan at the same moment (name resolution is slow)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "veil-disc-race-"));
    try {
      const site = openSiteServices({
        stateDir: dir,
        instanceId: randomUUID(),
        clock: systemClock,
        logger: silentLogger,
        scanRanges: "127.0.6.0/24",
        ubdpPort: 9, // discard: nothing answers
        resolver: (host) => new Promise((r) => setTimeout(() => r(host === "slow.lan" ? ["127.0.6.1"] : []), 100)),
      });
      const handlers = createSiteRequestHandlers(() => site);
      const body = { targets: ["slow.lan"], broadcast: false, durationMs: 30_000, https: "off", maxResults: 1 };
      // Six sessions' requests in one batch: each runs until its name lookup awaits.
      const sessions = Array.from({ length: 6 }, () => fakeContext());
      const outcomes = await Promise.allSettled(sessions.map(({ ctx }) => handlers["discovery.start"](body, ctx)));
      const started = outcomes.flatMap((o, i) => {
        if (o.status !== "fulfilled") return [];
        const answer = ZDiscoveryStartResultSchema.parse(o.value);
        return answer.status === "started" ? [{ answer, session: sessions[i] }] : [];
      });
      expect(started).toHaveLength(site.maxScans);
      const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as unknown] : []));
      expect(refused).toHaveLength(sessions.length - site.maxScans);
      for (const e of refused) expect(e).toMatchObject({ name: "RequestRefusedError", code: "rate_limited" });
      expect(site.scans.size).toBe(site.maxScans);
      for (const { answer, session } of started) {
        expect(
          await handlers["discovery.cancel"](
            { subscriptionId: answer.subscriptionId },
            session?.ctx ?? fakeContext().ctx,
          ),
        ).toEqual({ cancelled: true });
        await session?.ended;
      }
      expect(site.scans.size).toBe(0);
      // A scan whose planning refuses its target gives its slot back.
      const refusedPlan = await handlers["discovery.start"]({ ...body, targets: ["nothing.lan"] }, fakeContext().ctx);
      expect(ZDiscoveryStartResultSchema.parse(refusedPlan).status).toBe("refused");
      expect(site.scans.size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
