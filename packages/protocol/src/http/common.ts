import { z } from "zod";

/** ISO-8601 timestamps in responses. */
export const ZTimestampSchema = z.iso.datetime({ offset: true });

/** Body of POST endpoints that take no input: `{}` and nothing else. */
export const ZEmptyBodySchema = z.object({}).strict();
export type TEmptyBody = z.infer<typeof ZEmptyBodySchema>;

/** GET /api/health — unauthenticated liveness and version. */
export const ZHealthResponseSchema = z.object({ status: z.literal("ok"), version: z.string() });
export type THealthResponse = z.infer<typeof ZHealthResponseSchema>;

/** Idle timeout bounds: 30 minutes to 30 days (the absolute session cap). */
export const IDLE_TIMEOUT_MIN_SECONDS = 1800;
export const IDLE_TIMEOUT_MAX_SECONDS = 30 * 86_400;
