import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { InformReplayCache, informReplayWindow } from "../src/index";

/** A 16-byte IV whose 8-byte fingerprint is `n` (the tail is noise the cache ignores). */
const iv = (n: number, tail = 0): Uint8Array => {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, Math.floor(n / 2 ** 32));
  v.setUint32(4, n >>> 0);
  v.setUint32(12, tail);
  return b;
};

describe("inform replay window", () => {
  it("covers one hour at the shortest interval the companion accepts (1 s) and at the default (10 s)", () => {
    expect(informReplayWindow(1)).toBe(3600);
    expect(informReplayWindow(10)).toBe(360);
    expect(informReplayWindow(3600)).toBe(64);
    expect(() => informReplayWindow(0)).toThrow(RangeError);
  });

  it("refuses a replay inside the window and accepts one just outside it (exact boundary)", () => {
    const w = informReplayWindow(10);
    const cache = new InformReplayCache();
    expect(cache.check("a", iv(1))).toBe(true);
    for (let n = 2; n <= w; n++) expect(cache.check("a", iv(n))).toBe(true);
    // iv(1) is the oldest of exactly w remembered informs: still caught, refusal records nothing.
    expect(cache.check("a", iv(1))).toBe(false);
    expect(cache.check("a", iv(w))).toBe(false);
    expect(cache.check("a", iv(w + 1))).toBe(true); // pushes iv(1) out
    expect(cache.check("a", iv(2))).toBe(false); // now the oldest, still inside
    expect(cache.check("a", iv(1))).toBe(true); // w + 1 informs ago: outside the window
  });

  it("is per device, and matches on the IV's first 8 bytes", () => {
    const cache = new InformReplayCache(3, 10);
    expect(cache.check("a", iv(7))).toBe(true);
    expect(cache.check("b", iv(7))).toBe(true);
    expect(cache.check("a", iv(7, 99))).toBe(false);
    expect(cache.check("a", iv(2 ** 40 + 7))).toBe(true); // differs only in the high word
  });

  it("grows a device's ring when its window grows, keeping what it remembered", () => {
    const cache = new InformReplayCache(4, 10);
    for (let n = 1; n <= 6; n++) expect(cache.check("a", iv(n))).toBe(true); // ring holds 3..6
    expect(cache.check("a", iv(3), 8)).toBe(false);
    for (let n = 7; n <= 10; n++) expect(cache.check("a", iv(n), 8)).toBe(true); // 3..10
    expect(cache.check("a", iv(3))).toBe(false); // a smaller window does not shrink the ring
    expect(cache.check("a", iv(11))).toBe(true); // evicts 3, the oldest
    expect(cache.check("a", iv(3))).toBe(true);
  });

  it("evicts the least recently seen device beyond maxDevices, and forgets on request", () => {
    const cache = new InformReplayCache(3, 2);
    expect(cache.check("a", iv(1))).toBe(true);
    expect(cache.check("b", iv(1))).toBe(true);
    expect(cache.check("a", iv(2))).toBe(true); // a is now the most recently seen
    expect(cache.check("c", iv(1))).toBe(true); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.check("a", iv(1))).toBe(false); // a kept its memory
    expect(cache.check("b", iv(1))).toBe(true); // b starts afresh (and evicts c)
    expect(cache.check("c", iv(1))).toBe(true);
    cache.forget("c");
    expect(cache.size).toBe(1);
    expect(cache.check("c", iv(1))).toBe(true);
  });

  it("checks its inputs", () => {
    expect(() => new InformReplayCache(0)).toThrow(RangeError);
    expect(() => new InformReplayCache(3, 0)).toThrow(RangeError);
    const cache = new InformReplayCache(3, 2);
    expect(() => cache.check("a", new Uint8Array(15))).toThrow(TypeError);
    expect(() => cache.check("a", iv(1), 0)).toThrow(RangeError);
  });

  it("holds 10,000 devices × one hour at 10 s in a few tens of MiB", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const devices = 10_000;
    const w = informReplayWindow(10);
    const macs = Array.from(
      { length: devices },
      (_, i) => `02:76:01:${[i >> 16, i >> 8, i].map((x) => (x & 255).toString(16).padStart(2, "0")).join(":")}`,
    );
    const used = (): number => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = used();
    const cache = new InformReplayCache(w, 20_000);
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    for (let n = 0; n < w; n++) {
      v.setUint32(0, n);
      for (let d = 0; d < devices; d++) {
        v.setUint32(4, d);
        cache.check(macs[d] ?? "", b);
      }
    }
    const grown = used() - before;
    expect(cache.size).toBe(devices);
    v.setUint32(0, 0);
    v.setUint32(4, 0);
    expect(cache.check(macs[0] ?? "", b)).toBe(false); // the first inform is still remembered
    console.log(`replay cache: ${devices} devices × ${w} IVs = ${(grown / 2 ** 20).toFixed(1)} MiB`);
    expect(grown).toBeLessThan(48 * 2 ** 20);
  });
});
