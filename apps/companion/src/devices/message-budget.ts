/**
 * How many listed items one E2E message may carry. Device rows, clients and discovery results
 * hold text a LAN host chose (any characters: a control character is 6 bytes of JSON, a
 * non-ASCII one 3), so a count cap alone does not keep an answer under MAX_E2E_MESSAGE_BYTES:
 * lists are cut by bytes too, and the rest goes in the next page or event (never dropped).
 */
import { MAX_E2E_MESSAGE_BYTES } from "../protocol";

/**
 * Bytes of listed items one answer or event may carry; the other 8,000 are the envelope and the
 * fixed fields beside the list (the audit log's pages keep the same margin).
 */
export const LIST_BUDGET_BYTES = MAX_E2E_MESSAGE_BYTES - 8_000;

/** UTF-8 bytes of `value` as JSON, as the responder seals it. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

/**
 * How many of `items`, from the first, fit in `budget` bytes of JSON (each with its comma).
 * With `atLeastOne`, the first always counts (a page that must make progress: one device row
 * is at most ~2 KB, far below any budget used here).
 */
export function countFitting(
  items: readonly unknown[],
  budget: number = LIST_BUDGET_BYTES,
  atLeastOne = false,
): number {
  let left = budget;
  let n = 0;
  for (const item of items) {
    left -= jsonBytes(item) + 1;
    if (left < 0 && !(atLeastOne && n === 0)) break;
    n += 1;
  }
  return n;
}
