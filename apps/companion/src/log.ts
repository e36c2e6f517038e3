/**
 * Structured JSON logs, one object per line on stderr. Field names that could carry a secret
 * are redacted whatever their value, and values are limited to scalars: callers pass ids,
 * codes and counts, never tokens, keys, frames or URLs with query strings.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** Scalar log fields only: no objects, so no secret can ride along inside one. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** The logger every component receives through its options. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /token|auth|key|secret|password|enroll|frame|signature|cookie/i;
const MAX_VALUE = 300;

/** Returns `fields` with secret-looking names redacted and long strings cut. */
export function redactFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (SECRET_FIELD.test(k)) out[k] = "[redacted]";
    else if (typeof v === "string" && v.length > MAX_VALUE) out[k] = v.slice(0, MAX_VALUE) + "…";
    else out[k] = v;
  }
  return out;
}

/** A JSON-lines logger writing to `write` (stderr by default) at or above `level`. */
export function createJsonLogger(
  options: { level?: LogLevel; write?: (line: string) => void; now?: () => number } = {},
): Logger {
  const min = RANK[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (RANK[level] < min) return;
    write(JSON.stringify({ ts: new Date(now()).toISOString(), level, msg, ...redactFields(fields) }));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
