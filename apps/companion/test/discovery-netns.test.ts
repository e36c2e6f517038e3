import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TDiscoveredDevice, TDiscoveryResultsEvent } from "../src/protocol";

/**
 * A real broadcast on a real (virtual) LAN: two network namespaces joined by a veth pair. The
 * device namespace runs the simulator's UBDP responder; the scanning namespace runs the
 * companion's discovery scan. Unicast probes go only to an address where no device is, so a
 * device found can only have answered the broadcast probe.
 */
const here = dirname(fileURLToPath(import.meta.url));
const companionDir = join(here, "..");
const SCAN_IP = "10.77.0.1";
const DEVICE_IP = "10.77.0.2";
const EMPTY_IP = "10.77.0.3";
const RANGE = "10.77.0.0/24";

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: "pipe" });
}

/** Why this machine cannot run the test, or undefined when it can (root and a working `ip netns`). */
function netnsUnavailable(): string | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "needs root";
  const probe = `veil-probe-${randomBytes(3).toString("hex")}`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    return undefined;
  } catch {
    return "ip netns is not available or not permitted";
  }
}

const unavailable = netnsUnavailable();

/** Distinct (MAC, IP, source) of a scan's results. */
const unique = (found: readonly TDiscoveredDevice[]): string[][] => [
  ...new Map(found.map((d) => [`${d.mac} ${d.ip} ${d.source}`, [d.mac, d.ip, d.source]])).values(),
];

function nodeIn(ns: string, script: string, args: string[]): ChildProcess {
  return spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", join(here, "netns", script), ...args], {
    cwd: companionDir,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** The first stdout line of `child` parsed as JSON (rejects on exit first or timeout). */
function firstLine(child: ChildProcess, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => reject(new Error(`no output in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once("line", (line) => {
      clearTimeout(t);
      resolve(JSON.parse(line) as unknown);
    });
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`exited with ${code}: ${stderr}`));
    });
  });
}

// Skipped where the machine does not allow network namespaces (needs root and iproute2's `ip netns`).
describe.skipIf(unavailable !== undefined)(
  `UBDP broadcast between two network namespaces (${unavailable ?? "available"})`,
  () => {
    const id = randomBytes(3).toString("hex");
    const nsScan = `veil-scan-${id}`;
    const nsDev = `veil-dev-${id}`;
    let responder: ChildProcess | undefined;
    let mac = "";

    const scan = async (hosts: string, mode: "broadcast" | "unicast-only") =>
      (await firstLine(nodeIn(nsScan, "discovery-scan.ts", [hosts, RANGE, mode]), 30_000)) as {
        found: TDiscoveredDevice[];
        stats: TDiscoveryResultsEvent["stats"];
      };

    beforeAll(async () => {
      ip("netns", "add", nsScan);
      ip("netns", "add", nsDev);
      ip("link", "add", `vs-${id}`, "netns", nsScan, "type", "veth", "peer", "name", `vd-${id}`, "netns", nsDev);
      ip("-n", nsScan, "addr", "add", `${SCAN_IP}/24`, "dev", `vs-${id}`);
      ip("-n", nsDev, "addr", "add", `${DEVICE_IP}/24`, "dev", `vd-${id}`);
      for (const [ns, dev] of [
        [nsScan, `vs-${id}`],
        [nsDev, `vd-${id}`],
      ] as const) {
        ip("-n", ns, "link", "set", "lo", "up");
        ip("-n", ns, "link", "set", dev, "up");
      }
      // 255.255.255.255 and the multicast group need a route out of the scanning namespace.
      ip("-n", nsScan, "route", "add", "default", "dev", `vs-${id}`);
      responder = nodeIn(nsDev, "ubdp-responder.ts", [DEVICE_IP]);
      const ready = (await firstLine(responder, 30_000)) as { ready: boolean; mac: string; port: number };
      expect(ready).toMatchObject({ ready: true, port: 10001 });
      mac = ready.mac;
    }, 60_000);

    afterAll(() => {
      responder?.stdin?.end();
      responder?.kill();
      for (const ns of [nsScan, nsDev]) {
        try {
          ip("netns", "del", ns); // takes its end of the veth pair with it
        } catch {
          /* never created (setup failed early) */
        }
      }
    });

    it("finds the device through the broadcast probe alone", async () => {
      const { found, stats } = await scan(EMPTY_IP, "broadcast");
      // One result per UBDP reply (v1 and v2 probes): one device, at its own address.
      expect(unique(found)).toEqual([[mac, DEVICE_IP, "ubdp"]]);
      expect(stats.repliesAccepted).toBeGreaterThanOrEqual(1);
    }, 60_000);

    it("without the broadcast probe the same scan finds nothing (the unicast target is empty)", async () => {
      const { found, stats } = await scan(EMPTY_IP, "unicast-only");
      expect(found).toEqual([]);
      // v1 and v2 to the empty address, twice (silent hosts get a second round): no broadcast.
      expect(stats.probesSent).toBe(4);
    }, 60_000);

    it("a unicast probe to the device's own address reaches it across the veth too", async () => {
      const { found } = await scan(DEVICE_IP, "unicast-only");
      expect(unique(found)).toEqual([[mac, DEVICE_IP, "ubdp"]]);
    }, 60_000);
  },
);
