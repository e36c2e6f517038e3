/**
 * Child process of discovery-netns.test.ts, run inside the scanning namespace: one companion
 * discovery scan (runScan, the code behind `discovery.start`) with HTTPS probes off. argv:
 * unicast hosts (comma-separated), the scope ranges, "broadcast" or "unicast-only". Prints the
 * results and counters as one JSON line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PinStore } from "../../src/adoption/pin-store";
import { runScan } from "../../src/discovery/discovery-scan";
import { scopeFromConfig } from "../../src/discovery/scope";
import type { TDiscoveredDevice } from "../../src/protocol";

const [hosts = "", ranges = "", mode = ""] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "veil-netns-scan-"));
const found: TDiscoveredDevice[] = [];
try {
  const { stats } = await runScan({
    hosts: hosts.split(",").filter(Boolean),
    scope: scopeFromConfig(ranges),
    pins: new PinStore(dir),
    durationMs: 2500,
    broadcast: mode === "broadcast",
    https: "off",
    maxResults: 16,
    now: Date.now,
    onResult: (d) => found.push(d),
    signal: new AbortController().signal,
  });
  process.stdout.write(JSON.stringify({ found, stats }) + "\n");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
