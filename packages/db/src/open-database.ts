import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "./schema";

/** One drizzle type for both drivers: PGlite and postgres.js share the pg-core query builder. */
export type VeilDatabase = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface OpenedDatabase {
  readonly db: VeilDatabase;
  readonly driver: "pglite" | "postgres";
  /** Releases this handle; the underlying client closes when the last handle is released. */
  close(): Promise<void>;
}

export type OpenDatabaseOptions =
  | { readonly dataDir: string; readonly migrationsFolder?: string }
  | { readonly url: string; readonly migrationsFolder?: string; readonly maxConnections?: number };

interface Entry {
  refs: number;
  ready: Promise<{ db: VeilDatabase; driver: "pglite" | "postgres"; end: () => Promise<void> }>;
}

// PGlite allows one instance per data folder per process; Next.js and the custom server may
// both import this module (bundled twice), so the registry lives on globalThis.
const REGISTRY_KEY = Symbol.for("veil.db.registry");
type GlobalWithRegistry = typeof globalThis & { [REGISTRY_KEY]?: Map<string, Entry> };
function registry(): Map<string, Entry> {
  const g = globalThis as GlobalWithRegistry;
  g[REGISTRY_KEY] ??= new Map();
  return g[REGISTRY_KEY];
}

/** The committed migrations folder, computed at run time (bundlers must not see it as an asset). */
export function defaultMigrationsFolder(): string {
  return path.join(import.meta.dirname, "..", "migrations");
}

/**
 * Opens (or reuses) the database and runs pending migrations before resolving.
 * `{ url }` uses postgres.js against PostgreSQL; `{ dataDir }` uses embedded PGlite in
 * `<dataDir>/pglite`. Both return the same drizzle API over the same schema.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<OpenedDatabase> {
  const migrationsFolder = options.migrationsFolder ?? defaultMigrationsFolder();
  const key = "url" in options ? `url:${options.url}` : `dir:${path.resolve(options.dataDir, "pglite")}`;
  const reg = registry();
  let entry = reg.get(key);
  if (!entry) {
    entry = {
      refs: 0,
      ready:
        "url" in options
          ? openPostgres(options.url, migrationsFolder, options.maxConnections)
          : openPglite(options.dataDir, migrationsFolder),
    };
    reg.set(key, entry);
    entry.ready.catch(() => reg.delete(key));
  }
  entry.refs += 1;
  const opened = await entry.ready;
  const held = entry;
  let closed = false;
  return {
    db: opened.db,
    driver: opened.driver,
    async close() {
      if (closed) return;
      closed = true;
      held.refs -= 1;
      if (held.refs === 0 && reg.get(key) === held) {
        reg.delete(key);
        await opened.end();
      }
    },
  };
}

async function openPglite(dataDir: string, migrationsFolder: string) {
  const dir = path.resolve(dataDir, "pglite");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const client = await PGlite.create(dir);
  const db = drizzlePglite({ client, schema });
  await migratePglite(db, { migrationsFolder });
  return { db: db as unknown as VeilDatabase, driver: "pglite" as const, end: () => client.close() };
}

// Several console nodes may start together: migrations run on one connection holding a
// session-level advisory lock, so only one node applies them at a time.
const MIGRATION_LOCK = 0x7665696c; // "veil"

async function openPostgres(url: string, migrationsFolder: string, max = 10) {
  const migrator = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await migrator`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migratePostgres(drizzlePostgres({ client: migrator }), { migrationsFolder });
    await migrator`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await migrator.end({ timeout: 5 });
  }
  const client = postgres(url, { max, onnotice: () => undefined });
  const db = drizzlePostgres({ client, schema });
  return { db: db as unknown as VeilDatabase, driver: "postgres" as const, end: () => client.end({ timeout: 5 }) };
}
