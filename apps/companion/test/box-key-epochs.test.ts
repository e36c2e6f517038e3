import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../src/crypto";
import {
  BoxKeyEpochs,
  MAX_DELEGATED_EPOCHS,
  MAX_SIGNER_EPOCHS,
  type TBoxKeyEpochs,
} from "../src/grants/box-key-epochs";
import type { StateStore } from "../src/state/state-store";
import { silentLogger } from "../src/log";
import { captureLogger } from "./harness/companion";
import { makeAccount } from "./harness/fixtures";

/** A state store holding only box-key-epochs.json, whose writes fail while `failing` is set. */
function memoryStore(initial?: TBoxKeyEpochs) {
  const state = { saved: initial, saves: 0, failing: false };
  const store = {
    loadBoxKeyEpochs: () => state.saved,
    saveBoxKeyEpochs: (epochs: TBoxKeyEpochs) => {
      state.saves += 1;
      if (state.failing) return Promise.reject(new Error("EIO"));
      state.saved = structuredClone(epochs);
      return Promise.resolve();
    },
  } as unknown as StateStore;
  return { store, state };
}

const key = (): string => toBase64Url(makeAccount().identity.publicKey);

/** Floors whose first save (a signer floor of 4) failed; saves still fail until `state.failing` is cleared. */
async function afterFailedSave(retryMs: number) {
  const { store, state } = memoryStore();
  const floors = new BoxKeyEpochs({ store, logger: silentLogger, retryMs });
  const account = randomUUID();
  const own = key();
  state.failing = true;
  floors.raise(account, own, 4, "signer");
  await floors.flushed();
  expect(state.saved).toBeUndefined();
  return { state, floors, account, own };
}

describe("box-key epoch floors", () => {
  it("keeps a floor per account and identity key, only upwards, and saves it", async () => {
    const { store, state } = memoryStore();
    const floors = new BoxKeyEpochs({ store });
    const account = randomUUID();
    const own = key();
    const other = key();
    floors.raise(account, own, 3, "signer");
    floors.raise(account, own, 2, "signer");
    floors.raise(account, other, 9, "delegated");
    expect(floors.floor(account, own)).toBe(3);
    expect(floors.floor(account, other)).toBe(9);
    expect(floors.floor(randomUUID(), own)).toBe(0);
    // Malformed ids or keys are not recorded.
    floors.raise("not-an-id", own, 5, "signer");
    floors.raise(account, "x/y", 5, "signer");
    await floors.flushed();
    expect(state.saved).toEqual({
      version: 1,
      signer: { [`${account}/${own}`]: 3 },
      delegated: { [`${account}/${other}`]: 9 },
    });
    // Read back on the next start.
    expect(new BoxKeyEpochs({ store }).floor(account, own)).toBe(3);
  });

  it("retries a failed save, so a floor raised during a write error still reaches the disk", async () => {
    const { state, floors, account, own } = await afterFailedSave(10);
    state.failing = false;
    await new Promise((r) => setTimeout(r, 50));
    await floors.flushed();
    expect(state.saves).toBeGreaterThanOrEqual(2);
    expect(state.saved?.signer).toEqual({ [`${account}/${own}`]: 4 });
    floors.close();
  });

  it("gives delegated grants a share of their own: made-up accounts cannot push the signer's grantees out of the file", async () => {
    const { store, state } = memoryStore();
    const floors = new BoxKeyEpochs({ store, logger: silentLogger });
    const forgedKey = key();
    for (let i = 0; i < MAX_DELEGATED_EPOCHS + 100; i++) floors.raise(randomUUID(), forgedKey, 1, "delegated");
    const account = randomUUID();
    const own = key();
    floors.raise(account, own, 2, "signer");
    await floors.flushed();
    expect(Object.keys(state.saved?.delegated ?? {})).toHaveLength(MAX_DELEGATED_EPOCHS);
    expect(state.saved?.signer).toEqual({ [`${account}/${own}`]: 2 });
    expect(MAX_SIGNER_EPOCHS).toBeGreaterThan(MAX_DELEGATED_EPOCHS);
  });

  it("holds delegated floors in memory in a share of their own: a delegated flood never stops the signer's floors", () => {
    const { logger, lines } = captureLogger();
    const floors = new BoxKeyEpochs({ logger });
    const forgedKey = key();
    // More made-up accounts than both shares hold in memory together (four times the file's).
    const forged = Array.from({ length: 4 * (MAX_SIGNER_EPOCHS + MAX_DELEGATED_EPOCHS) + 10 }, () => randomUUID());
    for (const id of forged) floors.raise(id, forgedKey, 1, "delegated");
    expect(floors.floor(forged.at(-1) ?? "", forgedKey)).toBe(0);
    expect(lines.join("\n")).toMatch(/the delegated share is full/);
    const account = randomUUID();
    const own = key();
    floors.raise(account, own, 3, "signer");
    expect(floors.floor(account, own)).toBe(3);
    // A floor a delegated grant set is raised further by either kind of grant.
    floors.raise(forged[0] ?? "", forgedKey, 2, "delegated");
    expect(floors.floor(forged[0] ?? "", forgedKey)).toBe(2);
  });

  it("moves a floor to the signer's share once the signer's grant shows it too", async () => {
    const { store, state } = memoryStore();
    const floors = new BoxKeyEpochs({ store, logger: silentLogger });
    const account = randomUUID();
    const own = key();
    floors.raise(account, own, 2, "delegated");
    await floors.flushed();
    expect(state.saved?.delegated).toEqual({ [`${account}/${own}`]: 2 });
    floors.raise(account, own, 2, "signer");
    await floors.flushed();
    expect(state.saved).toEqual({ version: 1, signer: { [`${account}/${own}`]: 2 }, delegated: {} });
    // And stays there when a delegated grant raises it later.
    floors.raise(account, own, 5, "delegated");
    await floors.flushed();
    expect(state.saved).toEqual({ version: 1, signer: { [`${account}/${own}`]: 5 }, delegated: {} });
  });

  it("tries a failed save once more when closed, and flushed() waits for that attempt", async () => {
    const { state, floors, account, own } = await afterFailedSave(10);
    state.failing = false;
    floors.close();
    await floors.flushed();
    expect(state.saved?.signer).toEqual({ [`${account}/${own}`]: 4 });
    // A save that fails again while stopping is not retried (no timer keeps the process alive).
    state.failing = true;
    floors.raise(account, own, 5, "signer");
    await floors.flushed();
    const saves = state.saves;
    await new Promise((r) => setTimeout(r, 100));
    expect(state.saves).toBe(saves);
  });
});
