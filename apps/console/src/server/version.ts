import { readFileSync } from "node:fs";
import path from "node:path";

/** The console's version, from apps/console/package.json (read once at start). */
export const CONSOLE_VERSION: string = (
  JSON.parse(readFileSync(path.join(import.meta.dirname, "..", "..", "package.json"), "utf8")) as { version: string }
).version;

/** apps/console, where next.config.ts and .next live. */
export const CONSOLE_DIR: string = path.join(import.meta.dirname, "..", "..");
