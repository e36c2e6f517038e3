import { z } from "zod";

/**
 * The companion's configuration: the only module that reads `process.env` (lint rule). Values
 * are validated with zod; a bad value stops the start with a message naming the variable.
 *
 * VEIL_ENROLL is read once and then deleted from `process.env`, so no child process inherits
 * the enrollment secret.
 */
const ZEnvSchema = z.object({
  /** Folder holding config and secrets; must be 0700 and owned by the companion's user. */
  VEIL_STATE_DIR: z.string().min(1).max(4096).default("/var/lib/veil-companion"),
  /** The enrollment string, for `enroll` (never from argv). */
  VEIL_ENROLL: z.string().max(2048).optional(),
  /** Log level of the JSON logger. */
  VEIL_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

/** Validated environment. */
export type CompanionEnv = z.infer<typeof ZEnvSchema>;

/** Reads, validates and returns the environment; removes VEIL_ENROLL from `process.env`. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): CompanionEnv {
  const result = ZEnvSchema.safeParse({
    VEIL_STATE_DIR: source.VEIL_STATE_DIR,
    VEIL_ENROLL: source.VEIL_ENROLL === "" ? undefined : source.VEIL_ENROLL,
    VEIL_LOG_LEVEL: source.VEIL_LOG_LEVEL === "" ? undefined : source.VEIL_LOG_LEVEL,
  });
  if (source === process.env) delete process.env.VEIL_ENROLL;
  if (!result.success) {
    const names = [...new Set(result.error.issues.map((i) => String(i.path[0])))].join(", ");
    throw new Error(`invalid environment: check ${names}`);
  }
  return result.data;
}
