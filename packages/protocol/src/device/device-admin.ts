import { z } from "zod";

/**
 * Bodies of a device's HTTPS management API, which the companion uses to adopt a device with
 * credentials given once (issue 6). Served over HTTPS only; credentials travel in the body,
 * the session token in `Authorization: Bearer`, never in a URL.
 */
const ZUsernameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/);
const ZPasswordSchema = z.string().min(1).max(128);

/** POST /api/v1/login. */
export const ZDeviceLoginRequestSchema = z.object({ username: ZUsernameSchema, password: ZPasswordSchema });
/** The parsed value of `ZDeviceLoginRequestSchema`. */
export type TDeviceLoginRequest = z.infer<typeof ZDeviceLoginRequestSchema>;

/** Answer to a successful login: an opaque bearer token valid for a few minutes. */
export const ZDeviceLoginResponseSchema = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  expiresInSec: z.number().int().positive(),
});

/** Longest inform URL a device takes in `POST /api/v1/adopt`. */
export const MAX_INFORM_URL_LENGTH = 256;

/**
 * POST /api/v1/adopt: point the device at the companion — either the UniFi way (inform URL and,
 * optionally, the authkey: `syswrapper.sh set-adopt <url> <authkey>`) or Veil's site key.
 */
export const ZDeviceAdoptRequestSchema = z.union([
  z
    .object({
      informUrl: z.url({ protocol: /^https?$/ }).max(MAX_INFORM_URL_LENGTH),
      authkey: z
        .string()
        .regex(/^[0-9a-f]{32}$/)
        .optional(),
    })
    .strict(),
  z.object({ siteKey: z.string().min(10).max(1024).startsWith("veilsite1_") }).strict(),
]);
/** The parsed value of `ZDeviceAdoptRequestSchema`. */
export type TDeviceAdoptRequest = z.infer<typeof ZDeviceAdoptRequestSchema>;

/** POST /api/v1/credentials: replace the login credential (bulk credential generation). */
export const ZDeviceCredentialRequestSchema = z.object({
  username: ZUsernameSchema,
  password: z.string().min(12).max(128),
});

/** POST /api/v1/shell: run one line in the device's shell. */
export const ZDeviceShellRequestSchema = z.object({ command: z.string().min(1).max(1024) });
/** Answer of POST /api/v1/shell: whether the command succeeded and what it printed. */
export const ZDeviceShellResponseSchema = z.object({ ok: z.boolean(), output: z.string().max(65_536) });

/** GET /api/v1/info (no login): what the device shows anyone who asks, like its discovery reply. */
export const ZDeviceInfoSchema = z.object({
  mac: z.string().max(17),
  model: z.string().max(32),
  modelDisplay: z.string().max(64),
  firmware: z.string().max(64),
  hostname: z.string().max(64),
  adopted: z.boolean(),
});
/** The parsed value of `ZDeviceInfoSchema`. */
export type TDeviceInfo = z.infer<typeof ZDeviceInfoSchema>;
