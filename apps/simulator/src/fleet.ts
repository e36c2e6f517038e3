/** Builds the seeded fleet: models, MACs and addresses for device 0..n-1. */
import { CATALOG, type ModelSpec } from "./catalog";
import { SimDevice } from "./device";
import type { ResolvedSimulatorOptions } from "./options";
import { Prng } from "./prng";

const hex2 = (n: number): string => (n & 0xff).toString(16).padStart(2, "0");

function ipPlus(base: string, offset: number): string {
  const n = base.split(".").reduce((acc, p) => acc * 256 + Number(p), 0) + offset;
  if (n > 0xffffffff) throw new RangeError("device addresses run past 255.255.255.255");
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** MAC of device `i`: unique within a run, stable for a seed. */
export function deviceMac(opts: Pick<ResolvedSimulatorOptions, "macs" | "seed">, i: number): string {
  const prefix = opts.macs === "ubiquiti" ? "24:5a:4c" : `02:76:${hex2(opts.seed)}`;
  return `${prefix}:${hex2(i >> 16)}:${hex2(i >> 8)}:${hex2(i)}`;
}

/** Makes the devices. */
export function buildFleet(opts: ResolvedSimulatorOptions, now: number): SimDevice[] {
  const { ap, switch: sw, router } = opts.mix;
  const total = ap + sw + router || 1;
  const devices: SimDevice[] = [];
  for (let i = 0; i < opts.devices; i++) {
    const prng = Prng.fork(opts.seed, i);
    const r = prng.next() * total;
    const kind = r < ap ? "ap" : r < ap + sw ? "switch" : "router";
    const spec: ModelSpec = prng.pick(CATALOG[kind]);
    devices.push(
      new SimDevice(i, deviceMac(opts, i), ipPlus(opts.firstAddress, i), spec, prng, now, {
        username: opts.username,
        password: opts.password,
      }),
    );
  }
  return devices;
}
