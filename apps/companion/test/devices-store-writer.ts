/**
 * Child process for the kill -9 test (devices-store.test.ts): writes numbered records into an
 * AppendStore as fast as it can, compacts every `compactMs` (snapshot = one {t:"base", n}
 * record), and prints `written <n> <ms>` every 50 ms. The parent SIGKILLs it at a random moment.
 */
import { AppendStore } from "../src/devices/store/append-store";

const [dir = "", compactMsText = "300"] = process.argv.slice(2);
const compactMs = Number(compactMsText);
const { store, records } = AppendStore.open({ dir, name: "devices", syncIntervalMs: 500 });
let n = 0;
for (const r of records) {
  const rec = r as { t: string; n: number };
  n = rec.t === "base" ? rec.n : rec.n + 1;
}
let lastCompaction = Date.now();
const pad = "x".repeat(64);
const tick = (): void => {
  for (let i = 0; i < 500; i++) store.append({ t: "seq", n: n++, pad });
  if (Date.now() - lastCompaction > compactMs) {
    store.compact([{ t: "base", n }]);
    lastCompaction = Date.now();
  }
  setImmediate(tick);
};
setInterval(() => process.stdout.write(`written ${n} ${Date.now()}\n`), 50);
process.stdout.write(`ready ${n} ${Date.now()}\n`);
tick();
