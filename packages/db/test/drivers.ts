import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { openDatabase, type OpenedDatabase } from "../src/index";

export interface DriverUnderTest {
  readonly name: "pglite" | "postgres";
  /** Undefined when this driver is skipped, with the reason. */
  readonly skipReason?: string;
  open(): Promise<OpenedDatabase>;
  cleanup(): Promise<void>;
}

const DATABASE_URL = process.env.DATABASE_URL;

export function pgliteDriver(): DriverUnderTest {
  const dir = mkdtempSync(path.join(tmpdir(), "veil-db-test-"));
  return {
    name: "pglite",
    open: () => openDatabase({ dataDir: dir }),
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
}

/**
 * A fresh PostgreSQL database per suite (CREATE DATABASE … / DROP … WITH (FORCE)), so runs
 * never see each other's rows. Needs DATABASE_URL with a role that may create databases.
 */
export function postgresDriver(): DriverUnderTest {
  if (!DATABASE_URL) {
    return {
      name: "postgres",
      skipReason:
        "DATABASE_URL is not set: the PostgreSQL half of the contract suite is skipped (CI sets DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)",
      open: () => Promise.reject(new Error("skipped")),
      cleanup: () => Promise.resolve(),
    };
  }
  const name = `veil_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => undefined });
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  let created = false;
  return {
    name: "postgres",
    async open() {
      if (!created) {
        await admin.unsafe(`CREATE DATABASE "${name}"`);
        created = true;
      }
      return openDatabase({ url: url.toString(), maxConnections: 5 });
    },
    async cleanup() {
      if (created) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
  };
}

export function drivers(): DriverUnderTest[] {
  return [pgliteDriver(), postgresDriver()];
}
