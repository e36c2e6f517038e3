import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ZDeviceStateSchema, ZUnifiInformSchema } from "@veil/protocol";
import { unifiInformToDeviceState } from "../src/index";

// unifiInformToDeviceState is not re-validated on the ingest path: its output must satisfy
// ZDeviceStateSchema for every payload ZUnifiInformSchema accepts. These arbitraries aim at the
// edges of both schemas (caps, signs, huge and fractional numbers, numeric strings).

const mac = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
  .map((b) => b.map((x) => x.toString(16).padStart(2, "0")).join(":"));
const ip = fc.ipV4();
const text = (max: number) => fc.string({ maxLength: max + 2 });
const edgeNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, 0.5, 99.99, 100, 100.01, 400_000, 400_001, Number.MAX_SAFE_INTEGER, 2 ** 60),
);
const loose = fc.oneof(edgeNumber, fc.stringMatching(/^-?\d{1,30}(\.\d{1,3})?$/));
const count = fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER), edgeNumber);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const inform = fc.record(
  {
    mac,
    ip,
    model: text(32),
    model_display: text(64),
    type: fc.constantFrom("uap", "usw", "ugw", "udm"),
    version: text(64),
    hostname: text(64),
    uptime: count,
    locating: fc.boolean(),
    if_table: fc.array(
      fc.record(
        {
          name: text(32),
          mac,
          up: fc.boolean(),
          speed: count,
          rx_bytes: count,
          tx_bytes: count,
          rx_packets: count,
          tx_packets: count,
        },
        { requiredKeys: ["name"] },
      ),
      { maxLength: 4 },
    ),
    port_table: fc.array(fc.record({ port_idx: fc.integer({ min: 0, max: 256 }) }), { maxLength: 2 }),
    radio_table: fc.array(fc.record({ name: text(32), radio: text(8) }), { maxLength: 2 }),
    sta_table: fc.array(
      fc.record(
        {
          mac,
          ip,
          hostname: text(64),
          signal: fc.integer({ min: -130, max: 5 }),
          uptime: count,
          rx_bytes: count,
          tx_bytes: count,
        },
        { requiredKeys: ["mac"] },
      ),
      { maxLength: 4 },
    ),
    sys_stats: fc.record({ loadavg_1: opt(loose), mem_total: opt(loose), mem_used: opt(loose) }),
    "system-stats": fc.record({ cpu: opt(loose), mem: opt(loose), uptime: opt(loose) }),
  },
  { requiredKeys: ["mac", "ip", "model", "version", "hostname", "uptime"] },
);

describe("unifiInformToDeviceState (fast-check)", () => {
  it("maps every payload the inform schema accepts onto a state the device-state schema accepts", () => {
    let accepted = 0;
    fc.assert(
      fc.property(inform, (raw) => {
        const parsed = ZUnifiInformSchema.safeParse(raw);
        if (!parsed.success) return;
        accepted++;
        const state = unifiInformToDeviceState(parsed.data);
        const check = ZDeviceStateSchema.safeParse(state);
        expect(check.success ? [] : check.error.issues).toEqual([]);
        // Nothing is silently dropped: lists keep their length.
        expect(state.interfaces).toHaveLength(parsed.data.if_table.length);
        expect(state.clients).toHaveLength(parsed.data.sta_table?.length ?? 0);
      }),
      { numRuns: 2000, seed: 20261122 },
    );
    // The arbitraries must mostly produce valid informs, or the property says little.
    expect(accepted).toBeGreaterThan(200);
  });
});
