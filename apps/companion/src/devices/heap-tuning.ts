/**
 * V8 heap growth for the device side. The inventory is a large live heap (an entry per device)
 * and every inform replaces a device's state, so about 40 MB of objects a minute at 10,000
 * devices age into the old generation and die there. With V8's default growth (up to 4× the
 * live size before the next full collection) the heap then sat at 194–301 MiB for ~130 MiB live,
 * and the process at 416–536 MiB; growing by at most 30 % between full collections held it at
 * 357 MiB with the same CPU (docs/PERFORMANCE.md, "One companion ingesting …").
 */
import { setFlagsFromString } from "node:v8";

/** Heap size after a full collection, as a percentage over the live size, before the next one. */
export const HEAP_GROWING_PERCENT = 30;

let tuned = false;

/** Applies HEAP_GROWING_PERCENT to this process (V8 reads it at every full collection). Idempotent. */
export function tuneHeapForInventory(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
