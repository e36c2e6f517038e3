import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { inject } from "vitest";
import { startConsole, type RunningConsole, type StartConsoleOptions } from "../../src/server/start-console";
import { client, type Client } from "./http";

export interface TestConsole {
  readonly running: RunningConsole;
  readonly api: Client;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export const DATABASE_URL = process.env.DATABASE_URL;
export const PG_SKIP_MESSAGE =
  "DATABASE_URL is not set: PostgreSQL variants of the console tests are skipped (CI sets DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)";

/** A fresh PostgreSQL database for one test file; dropped on stop. */
async function freshPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!DATABASE_URL) throw new Error(PG_SKIP_MESSAGE);
  const name = `veil_console_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/** Starts a real console on random ports with its own data folder (and database). */
export async function startTestConsole(
  options: StartConsoleOptions & { driver?: "pglite" | "postgres" } = {},
): Promise<TestConsole> {
  const { driver = "pglite", ...rest } = options;
  const dataDir = mkdtempSync(path.join(tmpdir(), "veil-console-test-"));
  const pg = driver === "postgres" ? await freshPostgres() : null;
  const template = inject("pgliteTemplate");
  if (!pg && template && existsSync(path.join(template, "pglite")))
    cpSync(path.join(template, "pglite"), path.join(dataDir, "pglite"), { recursive: true });
  const running = await startConsole({
    port: 0,
    httpPort: 0,
    host: "127.0.0.1",
    dataDir,
    databaseUrl: pg?.url ?? null,
    ui: false,
    banner: false,
    log: () => undefined,
    ...rest,
  });
  return {
    running,
    dataDir,
    api: client(running.httpsPort, running.certificate.certPem),
    async stop() {
      await running.close();
      await pg?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const drivers: readonly ("pglite" | "postgres")[] = ["pglite", "postgres"];
