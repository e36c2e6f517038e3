/**
 * Child process for the kill -9 test (devices-store.test.ts): writes numbered records into an
 * AppendStore as fast as it can, compacts every `compactMs` (snapshot = one {t:"base", n}
 * record), and prints `written <n> <ms>` every 50 ms. The parent SIGKILLs it at a random moment.
 * Mode "background" compacts with compactInBackground and a snapshot padded with 20,000
 * {t:"fill"} records, so the kill often lands while a snapshot is being written.
 */
import { AppendStore } from "../src/devices/store/append-store";

const [dir = "", compactMsText = "300", mode = "sync"] = process.argv.slice(2);
const compactMs = Number(compactMsText);
const { store, records } = AppendStore.open({ dir, name: "devices", syncIntervalMs: 500 });
let n = 0;
for (const r of records) {
  const rec = r as { t: string; n: number };
  if (rec.t === "fill") continue;
  n = rec.t === "base" ? rec.n : rec.n + 1;
}
let lastCompaction = Date.now();
const pad = "x".repeat(64);
function* snapshot(base: number): Generator<unknown> {
  yield { t: "base", n: base };
  if (mode === "background") for (let i = 0; i < 20_000; i++) yield { t: "fill", i, pad };
}
const tick = (): void => {
  for (let i = 0; i < 500; i++) store.append({ t: "seq", n: n++, pad });
  if (Date.now() - lastCompaction > compactMs) {
    if (mode === "background") {
      if (store.compacting === null) void store.compactInBackground(snapshot(n));
    } else store.compact(snapshot(n));
    lastCompaction = Date.now();
  }
  setImmediate(tick);
};
setInterval(() => process.stdout.write(`written ${n} ${Date.now()}\n`), 50);
process.stdout.write(`ready ${n} ${Date.now()}\n`);
tick();
