/**
 * Reads files from ../shared/vectors (beside the repository; see README.md here).
 *
 * - Node: node:fs, path relative to this file.
 * - Browser (vitest browser mode, Chromium): `commands.readFile` from "vitest/browser", which
 *   reads on the vitest server; the browser config provides the absolute folder as
 *   `inject("vectorsDir")` and whether it exists as `inject("vectorsPresent")`.
 *
 * Only ONE condition skips (review finding 7): the folder ../shared/vectors itself is absent
 * (a user's fresh clone). Then `loadSharedText` returns null, one clear line says so, and the
 * suites `describe.skipIf(data === null)`. When the folder is there, any other failure (a
 * typo in a file name, a missing or unreadable file) throws, so the suite fails instead of
 * passing silently; and every suite asserts its case counts, so an empty or truncated file
 * fails too.
 */
import { inject } from "vitest";

const isBrowser = typeof window !== "undefined" && typeof document !== "undefined";
const RELATIVE_ROOT = "../shared/vectors";

/** Where vectors come from: whether the folder exists, and how to read one file of it. */
export interface VectorsSource {
  /** True if the folder exists; false only if it is absent; throws on any other error. */
  present(): Promise<boolean>;
  read(relative: string): Promise<string>;
}

function provided(key: "vectorsDir" | "vectorsPresent"): unknown {
  try {
    return (inject as (key: string) => unknown)(key);
  } catch {
    return undefined;
  }
}

const browserSource: VectorsSource = {
  present(): Promise<boolean> {
    const value = provided("vectorsPresent");
    if (typeof value !== "boolean")
      return Promise.reject(new Error("[vectors] vitest.browser.config.ts must provide `vectorsPresent`"));
    return Promise.resolve(value);
  },
  async read(relative: string): Promise<string> {
    const mod: unknown = await import("vitest/browser");
    const { commands } = mod as { commands: { readFile(path: string): Promise<string> } };
    const dir = provided("vectorsDir");
    if (typeof dir !== "string") throw new Error("[vectors] vitest.browser.config.ts must provide `vectorsDir`");
    return commands.readFile(`${dir}/${relative}`);
  },
};

interface NodeFs {
  readFile(path: URL, encoding: "utf8"): Promise<string>;
  stat(path: URL): Promise<{ isDirectory(): boolean }>;
}

async function nodeFs(): Promise<NodeFs> {
  const spec = "node:fs/promises";
  return (await import(/* @vite-ignore */ spec)) as NodeFs;
}

const rootUrl = (): URL => new URL(`../../../../../shared/vectors/`, import.meta.url);

const nodeSource: VectorsSource = {
  async present(): Promise<boolean> {
    const fs = await nodeFs();
    try {
      const st = await fs.stat(rootUrl());
      if (!st.isDirectory()) throw new Error(`[vectors] ${RELATIVE_ROOT} exists but is not a folder`);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === "ENOENT") return false;
      throw error;
    }
  },
  async read(relative: string): Promise<string> {
    return (await nodeFs()).readFile(new URL(relative, rootUrl()), "utf8");
  },
};

/** The source for this environment. */
export const defaultVectorsSource: VectorsSource = isBrowser ? browserSource : nodeSource;

const announced = new WeakSet<VectorsSource>();

/**
 * The text of `relative` under `source`: null if and only if the vectors FOLDER is absent (one
 * line on the console says so, once); throws if the folder is there but the file cannot be read.
 */
export async function loadSharedTextFrom(source: VectorsSource, relative: string): Promise<string | null> {
  if (!(await source.present())) {
    if (!announced.has(source)) {
      announced.add(source);
      console.warn(
        `[vectors] ${RELATIVE_ROOT} is absent (a fresh clone): the Wycheproof, HPKE and Noise vector suites are SKIPPED; the typed RFC vectors still run`,
      );
    }
    return null;
  }
  try {
    return await source.read(relative);
  } catch (error) {
    throw new Error(
      `[vectors] ${RELATIVE_ROOT} is present but ${relative} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** Whether ../shared/vectors is present in this environment. */
export function vectorsPresent(): Promise<boolean> {
  return defaultVectorsSource.present();
}

/** The text of `relative` under shared/vectors, or null if the whole folder is absent. */
export function loadSharedText(relative: string): Promise<string | null> {
  return loadSharedTextFrom(defaultVectorsSource, relative);
}

/** Fails unless `file` holds exactly `expected` test cases, in its groups and in `numberOfTests`. */
export function assertCaseCount(file: WycheproofFile, name: string, expected: number): void {
  const counted = file.testGroups.reduce((n, g) => n + g.tests.length, 0);
  if (counted !== expected || file.numberOfTests !== expected) {
    throw new Error(
      `[vectors] ${name}: expected ${expected} cases, found ${counted} (numberOfTests ${file.numberOfTests})`,
    );
  }
}

/**
 * A Wycheproof file parsed and checked to hold exactly `expectedCases` cases, or null if the
 * vectors folder is absent. A missing, unparsable or short file throws.
 */
export async function loadWycheproof(name: string, expectedCases: number): Promise<WycheproofFile | null> {
  const text = await loadSharedText(`wycheproof/${name}`);
  if (text === null) return null;
  const file = JSON.parse(text) as WycheproofFile;
  assertCaseCount(file, name, expectedCases);
  return file;
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
