// A node refreshes its companions' presence on a timer of its own: however slow its revocation
// sweep is set, a healthy companion never looks gone to the other nodes.
import { afterEach, describe, expect, it, vi } from "vitest";
import { PRESENCE_STALE_MS } from "../src/server/instances/instance-store";
import { HEARTBEAT_MS, PresenceSweep } from "../src/server/instances/presence-sweep";
import type { ConsoleServices } from "../src/server/services";

afterEach(() => vi.useRealTimers());

describe("the presence heartbeat", () => {
  it("runs every third of the staleness limit even with a revocation sweep of ten minutes, and stops with the sweep", () => {
    vi.useFakeTimers();
    const writes: string[] = [];
    const query = (kind: string) => {
      const chain: Record<string, unknown> = {};
      for (const clause of ["select", "from", "where", "update", "set"]) chain[clause] = () => chain;
      chain.then = (ok: (rows: unknown[]) => unknown) => {
        writes.push(kind);
        return Promise.resolve([]).then(ok);
      };
      // `void query.catch(…)` runs it, as a drizzle query's catch does.
      chain.catch = () => {
        writes.push(kind);
        return Promise.resolve();
      };
      return chain;
    };
    const services = {
      config: { revocationSweepMs: 10 * 60_000 },
      db: { update: () => query("heartbeat"), select: () => query("sweep") },
      log: () => undefined,
    } as unknown as ConsoleServices;
    const sweep = new PresenceSweep(
      services,
      () => ["3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e"],
      () => undefined,
    );
    sweep.start();
    expect(HEARTBEAT_MS * 3).toBe(PRESENCE_STALE_MS);
    vi.advanceTimersByTime(PRESENCE_STALE_MS);
    expect(writes.filter((w) => w === "heartbeat")).toHaveLength(3);
    expect(writes.filter((w) => w === "sweep")).toHaveLength(0);
    sweep.stop();
    vi.advanceTimersByTime(PRESENCE_STALE_MS);
    expect(writes.filter((w) => w === "heartbeat")).toHaveLength(3);
  });
});
