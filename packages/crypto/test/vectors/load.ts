/**
 * Reads files from ../shared/vectors (beside the repository; see README.md here).
 *
 * - Node: node:fs, path relative to this file.
 * - Browser (vitest browser mode, Chromium): `commands.readFile` from "vitest/browser", which
 *   reads on the vitest server; the browser config provides the absolute folder as
 *   `inject("vectorsDir")`.
 *
 * Returns null (and says so once on the console) when the folder or file is absent, so suites
 * can `describe.skipIf(data === null)`: a user's fresh clone has no shared/ folder.
 */
import { inject } from "vitest";

const isBrowser = typeof window !== "undefined" && typeof document !== "undefined";

async function readText(relative: string): Promise<string> {
  if (isBrowser) {
    const mod: unknown = await import("vitest/browser");
    const { commands } = mod as { commands: { readFile(path: string): Promise<string> } };
    let dir = "../../../shared/vectors";
    try {
      // Provided by vitest.browser.config.ts (typed there through ProvidedContext).
      const provided: unknown = (inject as (key: string) => unknown)("vectorsDir");
      if (typeof provided === "string") dir = provided;
    } catch {
      // not provided: fall back to the path relative to the package root
    }
    return commands.readFile(`${dir}/${relative}`);
  }
  const spec = "node:fs/promises";
  const fs = (await import(/* @vite-ignore */ spec)) as { readFile(path: URL, encoding: "utf8"): Promise<string> };
  return fs.readFile(new URL(`../../../../../shared/vectors/${relative}`, import.meta.url), "utf8");
}

/** The text of `relative` under shared/vectors, or null if it is absent. */
export async function loadSharedText(relative: string): Promise<string | null> {
  try {
    return await readText(relative);
  } catch {
    console.warn(`[vectors] ../shared/vectors/${relative} is absent: the suites that need it are skipped`);
    return null;
  }
}

/** A Wycheproof file parsed, or null if absent. */
export async function loadWycheproof(name: string): Promise<WycheproofFile | null> {
  const text = await loadSharedText(`wycheproof/${name}`);
  return text === null ? null : (JSON.parse(text) as WycheproofFile);
}

/** The subset of the Wycheproof v1 schema the suites read. */
export interface WycheproofFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: WycheproofGroup[];
}

/** A test group: fields vary by schema. */
export interface WycheproofGroup {
  keySize?: number;
  ivSize?: number;
  tagSize?: number;
  publicKey?: { pk: string };
  tests: WycheproofTest[];
}

/** One test case: fields vary by schema. */
export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: "valid" | "invalid" | "acceptable";
  [field: string]: unknown;
}

/** A string field of a test case. */
export function field(t: WycheproofTest, name: string): string {
  const v = t[name];
  if (typeof v !== "string") throw new Error(`tcId ${t.tcId}: field ${name} is not a string`);
  return v;
}
