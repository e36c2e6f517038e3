/**
 * The only module that reads process.env. Everything is validated with zod; a bad value stops
 * the start with a message naming the variable and what to fix.
 */
import { BlockList, isIP } from "node:net";
import { z } from "zod";

const port = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a TCP port number` })
    .int(`${name} must be a whole number`)
    .min(0, `${name} must be between 1 and 65535`)
    .max(65535, `${name} must be between 1 and 65535`);

const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s))
  .optional();

/** Parses "10.0.0.0/8, 192.168.1.1, ::1/128" into CIDR strings; invalid entries fail. */
export const ZCidrListSchema = z
  .string()
  .default("")
  .transform((value, ctx) => {
    const out: string[] = [];
    for (const raw of value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [addr = "", bits] = raw.split("/");
      const family = isIP(addr);
      const max = family === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
        ctx.addIssue({ code: "custom", message: `"${raw}" is not an IP address or CIDR (e.g. 10.0.0.0/8 or ::1)` });
        continue;
      }
      out.push(`${addr}/${prefix}`);
    }
    return out;
  });

const ZEnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
    VEIL_DATA_DIR: z.string().trim().min(1, "VEIL_DATA_DIR must not be empty").default("./.veil-data"),
    VEIL_HOST: z.string().trim().min(1).default("0.0.0.0"),
    VEIL_HTTPS_PORT: port("VEIL_HTTPS_PORT").default(8443),
    /** 0 turns the plain-HTTP port off. */
    VEIL_HTTP_PORT: port("VEIL_HTTP_PORT").default(8080),
    VEIL_INFORM_PORT: port("VEIL_INFORM_PORT").optional(),
    DATABASE_URL: optionalString.pipe(
      z
        .url({ protocol: /^postgres(ql)?$/, error: "DATABASE_URL must be a postgres:// or postgresql:// URL" })
        .optional(),
    ),
    VEIL_TLS_CERT: optionalString,
    VEIL_TLS_KEY: optionalString,
    VEIL_ACME_DOMAIN: optionalString.pipe(
      z
        .string()
        .regex(
          /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
          "VEIL_ACME_DOMAIN must be a DNS name such as console.example.com",
        )
        .optional(),
    ),
    VEIL_ACME_EMAIL: optionalString.pipe(z.email("VEIL_ACME_EMAIL must be an e-mail address").optional()),
    VEIL_ACME_DIRECTORY: z
      .url("VEIL_ACME_DIRECTORY must be an https URL")
      .default("https://acme-v02.api.letsencrypt.org/directory"),
    VEIL_TRUSTED_PROXIES: ZCidrListSchema,
    VEIL_PUBLIC_ORIGIN: optionalString.pipe(
      z
        .url({
          protocol: /^https$/,
          error: "VEIL_PUBLIC_ORIGIN must be an https:// origin such as https://console.example.com",
        })
        .transform((u) => new URL(u).origin)
        .optional(),
    ),
    VEIL_SESSION_IDLE_SECONDS: z.coerce
      .number()
      .int()
      .min(1800, "VEIL_SESSION_IDLE_SECONDS must be at least 1800 (30 minutes)")
      .max(2_592_000, "VEIL_SESSION_IDLE_SECONDS must be at most 2592000 (30 days)")
      .default(3600),
    VEIL_SESSION_MAX_SECONDS: z.coerce
      .number()
      .int()
      .min(1800)
      .max(2_592_000, "VEIL_SESSION_MAX_SECONDS must be at most 2592000 (30 days)")
      .default(2_592_000),
    VEIL_STEP_UP_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
    /** base64 of 32 bytes; share it across nodes so fake pre-login salts and TOTP encryption agree. */
    VEIL_SERVER_SECRET: optionalString.pipe(
      z
        .string()
        .regex(
          /^[A-Za-z0-9+/_-]{43}=?$/,
          "VEIL_SERVER_SECRET must be 32 random bytes in base64 (openssl rand -base64 32)",
        )
        .optional(),
    ),
    REDIS_URL: optionalString.pipe(
      z.url({ protocol: /^rediss?$/, error: "REDIS_URL must be a redis:// or rediss:// URL" }).optional(),
    ),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.VEIL_TLS_CERT) !== Boolean(env.VEIL_TLS_KEY)) {
      ctx.addIssue({
        code: "custom",
        path: ["VEIL_TLS_CERT"],
        message: "set both VEIL_TLS_CERT and VEIL_TLS_KEY (PEM file paths), or neither",
      });
    }
    if (env.VEIL_ACME_DOMAIN && !env.VEIL_ACME_EMAIL) {
      ctx.addIssue({
        code: "custom",
        path: ["VEIL_ACME_EMAIL"],
        message: "VEIL_ACME_DOMAIN is set: also set VEIL_ACME_EMAIL (the ACME account contact)",
      });
    }
    if (env.VEIL_ACME_DOMAIN && env.VEIL_TLS_CERT) {
      ctx.addIssue({
        code: "custom",
        path: ["VEIL_ACME_DOMAIN"],
        message: "choose one: VEIL_TLS_CERT/VEIL_TLS_KEY files or VEIL_ACME_DOMAIN, not both",
      });
    }
    if (env.VEIL_ACME_DOMAIN && env.VEIL_HTTP_PORT === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["VEIL_HTTP_PORT"],
        message: "ACME HTTP-01 needs the HTTP port: set VEIL_HTTP_PORT (80 in production)",
      });
    }
    if (env.VEIL_SESSION_IDLE_SECONDS > env.VEIL_SESSION_MAX_SECONDS) {
      ctx.addIssue({
        code: "custom",
        path: ["VEIL_SESSION_IDLE_SECONDS"],
        message: "VEIL_SESSION_IDLE_SECONDS must not exceed VEIL_SESSION_MAX_SECONDS",
      });
    }
    for (const name of ["VEIL_HTTP_PORT", "VEIL_INFORM_PORT"] as const) {
      const p = env[name];
      if (p !== undefined && p !== 0 && p === env.VEIL_HTTPS_PORT)
        ctx.addIssue({ code: "custom", path: [name], message: `${name} must differ from VEIL_HTTPS_PORT` });
    }
  });

export type Env = z.infer<typeof ZEnvSchema>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}\nFix the environment variables above and start again (see docs/OPERATIONS.md).`,
    );
    this.name = "EnvError";
  }
}

/** Validates an environment (process.env by default). Throws EnvError listing every problem. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = ZEnvSchema.safeParse(source);
  if (!result.success) {
    throw new EnvError(
      result.error.issues.map((i) => {
        const name = String(i.path[0] ?? "environment");
        return i.message.includes(name) ? i.message : `${name}: ${i.message}`;
      }),
    );
  }
  return result.data;
}

/** Builds a BlockList matching the trusted proxy CIDRs. */
export function trustedProxyList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [addr = "", bits = "0"] = cidr.split("/");
    const family = isIP(addr) === 6 ? "ipv6" : "ipv4";
    list.addSubnet(addr, Number(bits), family);
  }
  return list;
}
