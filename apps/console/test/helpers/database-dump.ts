/**
 * The whole database as one searchable blob, for the zero-knowledge tests: what a stolen
 * database would show.
 */
import { sql } from "drizzle-orm";
import type { TestConsole } from "./console";

/** Every table in the public schema, every row, every value as bytes and text. */
export async function dumpDatabase(c: TestConsole): Promise<{ tables: string[]; blob: Buffer }> {
  const db = c.running.database.db;
  const asRows = (r: unknown): Record<string, unknown>[] =>
    Array.isArray(r) ? (r as Record<string, unknown>[]) : ((r as { rows: Record<string, unknown>[] }).rows ?? []);
  const tables = asRows(
    await db.execute(
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    ),
  ).map((r) => String(r.table_name));
  const parts: Buffer[] = [];
  for (const t of tables) {
    for (const row of asRows(await db.execute(sql.raw(`select * from "${t}"`)))) {
      for (const v of Object.values(row)) {
        if (v instanceof Uint8Array) {
          parts.push(
            Buffer.from(v),
            Buffer.from(Buffer.from(v).toString("hex")),
            Buffer.from(Buffer.from(v).toString("base64url")),
            Buffer.from(Buffer.from(v).toString("base64")),
          );
        } else if (v !== null && v !== undefined)
          parts.push(Buffer.from(typeof v === "string" ? v : JSON.stringify(v)));
        parts.push(Buffer.from("\n"));
      }
    }
  }
  return { tables, blob: Buffer.concat(parts) };
}

/** Forms of a secret that must never appear anywhere in the database. */
export function forms(secret: Uint8Array | string): Buffer[] {
  if (typeof secret === "string") return [Buffer.from(secret, "utf8")];
  const b = Buffer.from(secret);
  return [
    b,
    Buffer.from(b.toString("hex")),
    Buffer.from(b.toString("base64url")),
    Buffer.from(b.toString("base64").replace(/=+$/, "")),
  ];
}
