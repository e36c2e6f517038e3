import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AppendStore } from "../src/devices/store/append-store";
import { encodeRecord, scanRecords } from "../src/devices/store/record-framing";
import { DeviceHistory } from "../src/devices/history";
import { Inventory } from "../src/devices/inventory";
import type { TDeviceState } from "../src/protocol";

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "veil-devstore-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const state = (mac: string, cpu: number, rx: number): TDeviceState => ({
  mac,
  kind: "ap",
  model: "U7PG2",
  modelDisplay: "UAP-AC-Pro",
  firmware: "6.6.55",
  hostname: "ap-1",
  ip: "10.0.0.2",
  uptime: 100,
  cpu,
  memory: { totalBytes: 1000, usedBytes: 500 },
  locating: false,
  interfaces: [
    { name: "eth0", mac, up: true, speedMbps: 1000, rxBytes: rx, txBytes: rx / 2, rxPackets: 1, txPackets: 1 },
  ],
  clients: [],
});

describe("device store: framing, torn tails, compaction", () => {
  it("round-trips records and keeps files 0600", () => {
    const dir = tempDir();
    const { store } = AppendStore.open({ dir, name: "devices", syncIntervalMs: 100 });
    for (let i = 0; i < 100; i++) store.append({ t: "seq", n: i });
    store.close();
    const again = AppendStore.open({ dir, name: "devices" });
    expect(again.records).toEqual(Array.from({ length: 100 }, (_, n) => ({ t: "seq", n })));
    expect(again.truncatedBytes).toBe(0);
    again.store.close();
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o077).toBe(0);
  });

  it("truncates a torn tail and a corrupt record, keeping every record before it", () => {
    const dir = tempDir();
    const { store } = AppendStore.open({ dir, name: "devices" });
    for (let i = 0; i < 10; i++) store.append({ t: "seq", n: i });
    store.close();
    const log = join(dir, "devices.0.log");
    const whole = encodeRecord({ t: "seq", n: 10 });
    appendFileSync(log, whole.subarray(0, whole.length - 3)); // cut mid-record
    const reopened = AppendStore.open({ dir, name: "devices" });
    expect(reopened.records).toHaveLength(10);
    expect(reopened.truncatedBytes).toBe(whole.length - 3);
    reopened.store.append({ t: "seq", n: 10 });
    reopened.store.close();
    expect(AppendStore.open({ dir, name: "devices" }).records).toHaveLength(11);
    // A flipped byte inside record 5: the CRC stops the scan there.
    const bytes = readFileSync(log);
    const scan = scanRecords(bytes);
    expect(scan.records).toHaveLength(11);
    const offset5 = encodeRecord({ t: "seq", n: 0 }).length * 5 + 10;
    bytes[offset5] = (bytes[offset5] ?? 0) ^ 0xff;
    writeFileSync(log, bytes);
    expect(scanRecords(bytes).records).toHaveLength(5);
  });

  it("compacts into a snapshot, replays snapshot + newer log, removes stale generations", () => {
    const dir = tempDir();
    const { store } = AppendStore.open({ dir, name: "devices" });
    for (let i = 0; i < 50; i++) store.append({ t: "seq", n: i });
    store.compact([{ t: "base", n: 50 }]);
    store.append({ t: "seq", n: 50 });
    store.close();
    expect(readdirSync(dir).sort()).toEqual(["devices.1.log", "devices.snap"]);
    writeFileSync(join(dir, "devices.7.log"), "stale", { mode: 0o600 });
    writeFileSync(join(dir, ".devices.snap.abc.tmp"), "half", { mode: 0o600 });
    const again = AppendStore.open({ dir, name: "devices" });
    expect(again.records).toEqual([
      { t: "base", n: 50 },
      { t: "seq", n: 50 },
    ]);
    again.store.close();
    expect(readdirSync(dir).sort()).toEqual(["devices.1.log", "devices.snap"]);
  });

  it("rebuilds an inventory (state, minute history, outages, keys) from its log and from its snapshot", () => {
    const dir = tempDir();
    const { store } = AppendStore.open({ dir, name: "devices" });
    const inv = new Inventory();
    inv.attach(store);
    const mac = "02:76:00:00:00:01";
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
    const d = inv.ensure(mac, "unifi", t0);
    d.adopted = true;
    d.authkey = "0123456789abcdef0123456789abcdef";
    inv.saveKeys(d, { ak: d.authkey });
    inv.saveDevice(d);
    for (let i = 0; i < 30; i++) inv.report(d, state(mac, 10 + (i % 5), i * 60_000), t0 + i * 10_000, () => undefined);
    inv.closeBucket(d);
    inv.startOutage(d, t0 + 300_000);
    inv.endOutage(mac, t0 + 300_000, t0 + 400_000);
    store.close();
    const check = (records: unknown[]): void => {
      const back = new Inventory();
      for (const r of records) back.apply(r);
      const e = back.devices.get(mac);
      expect(e?.authkey).toBe(d.authkey);
      expect(e?.adopted).toBe(true);
      expect(e?.state?.model).toBe("U7PG2");
      expect(e?.history?.samples(t0 + 400_000).map((s) => s.m)).toEqual(
        d.history?.samples(t0 + 400_000).map((s) => s.m),
      );
      expect(back.outages).toEqual([{ mac, start: t0 + 300_000, end: t0 + 400_000 }]);
    };
    check(AppendStore.open({ dir, name: "devices" }).records);
    const dir2 = tempDir();
    const s2 = AppendStore.open({ dir: dir2, name: "devices" }).store;
    s2.compact(inv.snapshotRecords(t0 + 400_000));
    s2.close();
    check(AppendStore.open({ dir: dir2, name: "devices" }).records);
    // 6 informs per minute → 5 closed minutes with traffic ≈ 6,000 B/s (60,000 bytes per 10 s).
    expect(d.history?.samples(t0 + 400_000)).toHaveLength(5);
    // (kept on a log scale: within 0.023 %)
    expect(Math.abs((d.history?.samples(t0 + 400_000)[1]?.rx ?? 0) - 6000)).toBeLessThan(6000 * 2.3e-4);
  });
});

describe("DeviceHistory (11.25 KiB per device: u16 lanes, rates on a log scale)", () => {
  const m0 = Math.floor(Date.UTC(2026, 10, 22, 10, 0, 0) / 60_000);

  it("keeps rates from 0 to 80 Tbit/s within 0.023 % and percentages to a tenth", () => {
    const h = new DeviceHistory();
    const rates = [0, 0.5, 1, 7, 999, 6000, 123_456.7, 1.25e9, 4e12, 1e13];
    rates.forEach((rx, k) => h.put({ m: m0 + k, cpu: 12.34, mem: 99.96, rx, tx: rx / 2 }));
    rates.forEach((rx, k) => {
      const s = h.get(m0 + k);
      expect(Math.abs((s?.rx ?? -1) - rx)).toBeLessThanOrEqual(Math.max(1e-3, rx * 2.3e-4));
      expect(Math.abs((s?.tx ?? -1) - rx / 2)).toBeLessThanOrEqual(Math.max(1e-3, (rx / 2) * 2.3e-4));
      expect(s?.cpu).toBe(12.3);
      expect(s?.mem).toBe(100);
    });
    // Out of range and garbage are clamped, never wrap.
    h.put({ m: m0, cpu: 250, mem: -4, rx: 1e20, tx: Number.NaN });
    expect(h.get(m0)).toEqual({ m: m0, cpu: 100, mem: 0, rx: expect.closeTo(1e13, -10) as number, tx: 0 });
  });

  it("a slot holds one minute: the same slot a day earlier or later reads empty", () => {
    const h = new DeviceHistory();
    h.put({ m: m0, cpu: 5, mem: 5, rx: 5, tx: 5 });
    expect(h.get(m0)?.cpu).toBe(5);
    expect(h.get(m0 - 1440)).toBeUndefined();
    expect(h.get(m0 + 1440)).toBeUndefined();
    expect(h.get(m0 + 1)).toBeUndefined();
    h.put({ m: m0 + 1440, cpu: 7, mem: 7, rx: 7, tx: 7 });
    expect(h.get(m0)).toBeUndefined();
    expect(h.get(m0 + 1440)?.cpu).toBe(7);
    expect(h.samples((m0 + 1440) * 60_000)).toHaveLength(1);
    // Older than a day before the newest: dropped, and it does not wipe the newer minute.
    h.put({ m: m0, cpu: 9, mem: 9, rx: 9, tx: 9 });
    expect(h.get(m0)).toBeUndefined();
    expect(h.get(m0 + 1440)?.cpu).toBe(7);
    // Minutes skipped while the device was silent read empty, also after the ring wrapped.
    h.put({ m: m0 + 1445, cpu: 1, mem: 1, rx: 1, tx: 1 });
    expect([1441, 1442, 1443, 1444].map((k) => h.get(m0 + k))).toEqual([undefined, undefined, undefined, undefined]);
    h.put({ m: m0 + 5000, cpu: 2, mem: 2, rx: 2, tx: 2 });
    expect(h.samples((m0 + 5000) * 60_000)).toEqual([
      { m: m0 + 5000, cpu: 2, mem: 2, rx: expect.closeTo(2, 3) as number, tx: expect.closeTo(2, 3) as number },
    ]);
  });

  it("re-encoding what it returns is stable (a snapshot written from memory does not drift)", () => {
    const a = new DeviceHistory();
    const b = new DeviceHistory();
    for (let k = 0; k < 1440; k++) a.put({ m: m0 + k, cpu: k % 101, mem: 50, rx: k * 977.3, tx: k ** 3 });
    for (const s of a.samples((m0 + 1439) * 60_000)) b.put(s);
    expect(b.samples((m0 + 1439) * 60_000)).toEqual(a.samples((m0 + 1439) * 60_000));
  });
});

describe("device store: compaction under load", () => {
  const pad = "p".repeat(200);
  function* bigSnapshot(n: number): Generator<unknown> {
    for (let i = 0; i < n; i++) yield { t: "fill", i, pad };
  }
  /**
   * Runs `work` while a 1 ms timer appends records. Returns the longest gap between timer ticks
   * (reported only: on a loaded machine it measures the machine too) and how many appends ran
   * while `work` was under way, which is what shows whether the compaction let them through.
   */
  async function whileAppending(
    store: AppendStore,
    work: () => Promise<void> | void,
  ): Promise<{ stallMs: number; appendsDuring: number }> {
    let last = performance.now();
    let worst = 0;
    let n = 0;
    const tick = setInterval(() => {
      const t = performance.now();
      worst = Math.max(worst, t - last);
      last = t;
      store.append({ t: "live", n: n++ });
    }, 1);
    await new Promise((r) => setTimeout(r, 20));
    worst = 0;
    last = performance.now();
    const from = n;
    await work();
    const appendsDuring = n - from;
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(tick);
    return { stallMs: worst, appendsDuring };
  }

  it("writes the snapshot in slices: appends keep flowing, and snapshot + both logs replay in order", async () => {
    const dir = tempDir();
    const { store } = AppendStore.open({ dir, name: "devices", syncIntervalMs: 100 });
    const sizeOfState = 60_000; // ~13 MB of snapshot
    const sync = await whileAppending(store, () => store.compact(bigSnapshot(sizeOfState)));
    const before = store.records;
    let concurrent: Promise<void> | null = null;
    const background = await whileAppending(store, async () => {
      const running = store.compactInBackground(bigSnapshot(sizeOfState), { sliceMs: 4 });
      concurrent = store.compactInBackground([{ t: "ignored" }]); // a second call joins the first
      expect(store.compacting).toBe(running);
      await running;
    });
    expect(concurrent).not.toBeNull();
    expect(store.compacting).toBeNull();
    const appendedAfter = store.records;
    store.close();
    console.log(
      `compaction of ${sizeOfState} records: longest event-loop stall ${sync.stallMs.toFixed(0)} ms in one go, ${background.stallMs.toFixed(0)} ms in the background; ${background.appendsDuring} appends during the background one`,
    );
    // In one go nothing else runs; in the background the appends keep flowing between slices (a
    // slice ends after 4 ms or 1 MiB, so ~13 MB of snapshot takes at least 13, each followed by an
    // asynchronous write). Counted, not timed, so a loaded machine cannot fail it; speed is
    // measured in bench/.
    expect(sync.appendsDuring).toBe(0);
    expect(background.appendsDuring).toBeGreaterThanOrEqual(5);
    expect(before).toBeGreaterThan(0);
    const back = AppendStore.open({ dir, name: "devices" });
    back.store.close();
    const records = back.records as { t: string; i?: number; n?: number }[];
    expect(records.slice(0, sizeOfState).every((r, i) => r.t === "fill" && r.i === i)).toBe(true);
    const live = records.slice(sizeOfState);
    expect(live).toHaveLength(appendedAfter);
    expect(live.every((r) => r.t === "live")).toBe(true);
    expect(live.map((r) => r.n)).toEqual(live.map((_, k) => (live[0]?.n ?? 0) + k)); // contiguous
    expect(readdirSync(dir).sort()).toEqual(["devices.2.log", "devices.snap"]);
  }, 60_000);

  it("a compaction cut short (store closed mid-write) leaves the old snapshot and both logs, which replay whole", async () => {
    const dir = tempDir();
    const { store } = AppendStore.open({ dir, name: "devices" });
    store.compact([{ t: "base", n: 0 }]);
    for (let i = 0; i < 100; i++) store.append({ t: "seq", n: i });
    const running = store.compactInBackground(bigSnapshot(50_000), { sliceMs: 1 });
    for (let i = 100; i < 150; i++) store.append({ t: "seq", n: i }); // into the new log
    await new Promise((r) => setImmediate(r));
    store.close(); // as a crash would, mid-snapshot
    await running;
    expect(readdirSync(dir).sort()).toEqual(["devices.1.log", "devices.2.log", "devices.snap"]);
    const back = AppendStore.open({ dir, name: "devices" });
    expect(back.records).toEqual([{ t: "base", n: 0 }, ...Array.from({ length: 150 }, (_, n) => ({ t: "seq", n }))]);
    // Appends go on in the newest log; the next compaction replaces all of it.
    back.store.append({ t: "seq", n: 150 });
    back.store.compact([{ t: "base", n: 151 }]);
    back.store.close();
    expect(readdirSync(dir).sort()).toEqual(["devices.3.log", "devices.snap"]);
    // A log older than the snapshot (a crash after the rename, before the delete) is dropped.
    writeFileSync(join(dir, "devices.1.log"), encodeRecord({ t: "seq", n: -1 }), { mode: 0o600 });
    const again = AppendStore.open({ dir, name: "devices" });
    again.store.close();
    expect(again.records).toEqual([{ t: "base", n: 151 }]);
    expect(readdirSync(dir).sort()).toEqual(["devices.3.log", "devices.snap"]);
  });

  it("an inventory compacted in the background while devices keep reporting replays to the live state", async () => {
    const dir = tempDir();
    const { store } = AppendStore.open({ dir, name: "devices" });
    const inv = new Inventory();
    inv.attach(store);
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
    const macs = Array.from(
      { length: 2_000 },
      (_, i) =>
        `02:76:00:00:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`,
    );
    for (const [i, mac] of macs.entries())
      inv.report(inv.ensure(mac, "unifi", t0), state(mac, i % 100, i), t0, () => undefined);
    const running = store.compactInBackground(inv.snapshotRecords(t0), { sliceMs: 1 });
    // While it runs: reports with new identities (logged), a device forgotten, a new one.
    let turn = 0;
    while (store.compacting !== null) {
      const mac = macs[(turn * 37) % macs.length] ?? "";
      const d = inv.devices.get(mac);
      if (d)
        inv.report(d, { ...state(mac, 50, turn), hostname: `renamed-${turn}` }, t0 + 1_000 + turn, () => undefined);
      if (turn === 3) inv.evictStalePending(t0 + 10 ** 9, 0);
      if (turn === 5) inv.ensure("02:76:00:ff:ff:ff", "veil", t0 + 2_000);
      turn += 1;
      await new Promise((r) => setImmediate(r));
    }
    await running;
    store.close();
    expect(turn).toBeGreaterThan(5);
    const back = new Inventory();
    for (const r of AppendStore.open({ dir, name: "devices" }).records) back.apply(r);
    expect([...back.devices.keys()].sort()).toEqual([...inv.devices.keys()].sort());
    for (const [mac, d] of inv.devices) expect(back.devices.get(mac)?.state?.hostname).toBe(d.state?.hostname);
  });
});

describe("device store: kill -9 during heavy writes", () => {
  const writer = join(import.meta.dirname, "devices-store-writer.ts");

  async function runAndKill(
    dir: string,
    killAfterMs: number,
    mode: "sync" | "background" = "sync",
  ): Promise<{ timeline: { n: number; at: number }[]; killedAt: number }> {
    const child = spawn(process.execPath, ["--import", "tsx", writer, dir, "250", mode], {
      cwd: join(import.meta.dirname, ".."),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const timeline: { n: number; at: number }[] = [];
    let ready = false;
    let buf = "";
    child.stdout.on("data", (c: Buffer) => {
      buf += c.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const l of lines) {
        const [word, n, at] = l.split(" ");
        if (word === "ready") ready = true;
        if (word === "written") timeline.push({ n: Number(n), at: Number(at) });
      }
    });
    const start = Date.now();
    while (!ready) {
      if (Date.now() - start > 20_000) throw new Error("writer did not start");
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, killAfterMs));
    const killedAt = Date.now();
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    return { timeline, killedAt };
  }

  for (const mode of ["sync", "background"] as const)
    it(`reopens intact after SIGKILL at arbitrary moments, losing at most about a second (${mode} compaction)`, async () => {
      const dir = tempDir();
      const lost: number[] = [];
      let before = 0;
      // Each kill lands more than 1.5 s after the writer started, so "what it had written a second
      // before the kill" is a real number of records, not the start.
      for (const killAfter of [1900, 2370, 1620]) {
        const { timeline, killedAt } = await runAndKill(dir, killAfter, mode);
        const opened = AppendStore.open({ dir, name: "devices" });
        opened.store.close();
        // Contiguous: an optional base record, then every number in order, no gap, no duplicate.
        let expected: number | undefined;
        for (const r of opened.records as { t: string; n: number }[]) {
          if (r.t === "fill") continue;
          if (r.t === "base") {
            expect(expected).toBeUndefined();
            expected = r.n;
            continue;
          }
          if (expected === undefined) expected = r.n;
          expect(r.n).toBe(expected);
          expected += 1;
        }
        const recovered = expected ?? 0;
        const reportedSecondBefore = [...timeline].reverse().find((p) => p.at <= killedAt - 1000)?.n ?? 0;
        const lastReported = timeline.at(-1)?.n ?? 0;
        expect(reportedSecondBefore).toBeGreaterThan(before);
        expect(recovered).toBeGreaterThanOrEqual(reportedSecondBefore);
        before = recovered;
        lost.push(Math.max(0, lastReported - recovered));
      }
      // Print what was measured (records written but not on disk when killed).
      console.log(`kill -9 (${mode}): records lost per kill (written but unsynced) = ${lost.join(", ")}`);
    }, 60_000);
});
