/**
 * Last-known inventory snapshots (docs/COMPANION-DEVICES.md): what the companion spends to
 * serialise, deflate and seal one (node:crypto primitives, as it runs), what a browser spends to
 * verify, open, inflate and parse it (@noble primitives, as the browser runs), and the sizes, at
 * 1,000 and 10,000 devices with plausible, seeded rows. Baseline in the same run: a bare
 * JSON.stringify + JSON.parse round trip of the same rows.
 *
 *   pnpm --filter @veil/bench exec tsx snapshots.ts
 */
import { generateBoxKeyPair, generateIdentityKeyPair, noblePrimitives, setPrimitives, toBase64Url } from "@veil/crypto";
import { nodePrimitives } from "@veil/crypto/node";
import type { TDeviceSummary } from "../packages/protocol/src/index";
import { sealSnapshot } from "../apps/companion/src/snapshots/seal-snapshot";
import { openSnapshot } from "../apps/console/src/client/snapshots/open-snapshot";
import { fmt, header, measure, measureAsync, printTable, type Row } from "./lib/measure";

header("Last-known snapshots: companion seal vs browser open vs bare JSON round trip");

/** A small seeded PRNG (mulberry32): the same rows every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODELS = [
  ["U6LR", "U6 Long-Range", "ap"],
  ["USW24P", "Switch 24 PoE", "switch"],
  ["UXGPRO", "Gateway Pro", "router"],
  ["U7PRO", "U7 Pro", "ap"],
] as const;

function fleet(n: number): TDeviceSummary[] {
  const r = prng(n);
  const now = Date.UTC(2026, 10, 22);
  const hex = () =>
    Math.floor(r() * 256)
      .toString(16)
      .padStart(2, "0");
  return Array.from({ length: n }, (_, i) => {
    const [model, modelDisplay, kind] = MODELS[Math.floor(r() * MODELS.length)] ?? MODELS[0];
    const host = `${kind}-${i.toString(36)}-${hex()}${hex()}`;
    return {
      mac: `74:ac:${hex()}:${hex()}:${hex()}:${hex()}`,
      dialect: r() < 0.5 ? "unifi" : "veil",
      status: r() < 0.9 ? "online" : r() < 0.5 ? "offline" : "pending",
      name: host,
      hostname: host,
      kind,
      model,
      modelDisplay,
      firmware: `6.${Math.floor(r() * 7)}.${Math.floor(r() * 50)}`,
      ip: `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 254) + 1}`,
      firstSeen: now - Math.floor(r() * 30 * 86_400_000),
      lastSeen: now - Math.floor(r() * 30_000),
      intervalSec: 10,
      uptime: Math.floor(r() * 9_000_000),
      cpu: Math.round(r() * 1000) / 10,
      memoryPct: Math.round(r() * 1000) / 10,
      clients: Math.floor(r() * 60),
      locating: false,
    } satisfies TDeviceSummary;
  });
}

const instanceId = "0b0f3a52-5d6e-4c1a-9f3e-2f6f4a1d7c11";
const instance = generateIdentityKeyPair();
const viewer = generateBoxKeyPair();
const recipients = [viewer.publicKey, ...Array.from({ length: 9 }, () => generateBoxKeyPair().publicKey)];

const rows: Row[] = [];
const sizes: string[] = [];
for (const n of [1_000, 10_000]) {
  const devices = fleet(n);
  const json = JSON.stringify(devices);
  const baseline = measure(() => JSON.parse(JSON.stringify(devices)) as unknown, { budgetMs: 2_000 });
  setPrimitives(nodePrimitives);
  const input = { instanceId, sequence: 1, takenAt: Date.now(), devices };
  const sealOnce = () => sealSnapshot(input, { recipients, signer: instance.privateKey });
  const sealed = await sealOnce();
  const sealTime = await measureAsync(sealOnce, n >= 10_000 ? 5 : 20);
  setPrimitives(noblePrimitives);
  const served = { sequence: 1, sealed: toBase64Url(sealed) };
  const context = { instanceId, instanceIdentityPublicKey: instance.publicKey, recipient: viewer, minSequence: 0 };
  const openTime = await measureAsync(() => openSnapshot(served, context), n >= 10_000 ? 5 : 20);
  const d = `${n.toLocaleString("en-US")} devices`;
  rows.push(
    { operation: `${d}: JSON stringify + parse`, implementation: "baseline", figure: fmt.ms(baseline), ratio: "1.0×" },
    {
      operation: `${d}: companion JSON, deflate (thread pool), seal to 10, sign`,
      implementation: "nodePrimitives",
      figure: fmt.ms(sealTime),
      ratio: fmt.ratio(sealTime, baseline),
    },
    {
      operation: `${d}: browser verify, open, inflate, zod`,
      implementation: "noblePrimitives",
      figure: fmt.ms(openTime),
      ratio: fmt.ratio(openTime, baseline),
    },
  );
  sizes.push(
    `| ${d} | ${(json.length / 1024).toFixed(0)} KiB | ${(sealed.length / 1024).toFixed(0)} KiB | ${((100 * sealed.length) / json.length).toFixed(1)} % | ${Math.ceil(sealed.length / (128 * 1024))} |`,
  );
}
printTable("Time per snapshot (lower is better)", rows);
console.log("\n### Sizes (cap 8 MiB sealed, 128 KiB per upload chunk)\n");
console.log("| inventory | JSON | sealed | sealed / JSON | chunks |\n| --- | --- | --- | --- | --- |");
for (const line of sizes) console.log(line);
