import path from "node:path";
import type { Env } from "../env";

/** One rate-limit rule: `limit` requests per `windowSeconds`, per IP and per account. */
export interface RateRule {
  readonly perIp: number;
  readonly perAccount: number;
  readonly windowSeconds: number;
}

export type RateClass = "login" | "signup" | "twoFactor" | "apiRead" | "apiWrite";

/** Everything the console needs at run time, resolved from the environment (or a test). */
export interface ConsoleConfig {
  readonly dev: boolean;
  readonly dataDir: string;
  readonly host: string;
  readonly httpsPort: number;
  /** 0 = pick a free port (tests); null = off. */
  readonly httpPort: number | null;
  readonly informPort: number | null;
  readonly databaseUrl: string | null;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  /** caPem and skipChallengeVerification exist for tests against a local ACME server (pebble). */
  readonly acme: {
    readonly domain: string;
    readonly email: string;
    readonly directory: string;
    readonly caPem?: string;
    readonly skipChallengeVerification?: boolean;
  } | null;
  readonly trustedProxies: readonly string[];
  readonly publicOrigin: string | null;
  readonly session: {
    readonly idleDefaultSeconds: number;
    readonly maxSeconds: number;
    readonly stepUpSeconds: number;
  };
  readonly serverSecret: string | null;
  readonly redisUrl: string | null;
  readonly rateLimits: Readonly<Record<RateClass, RateRule>>;
  readonly lockout: { readonly maxFailures: number; readonly windowSeconds: number; readonly lockSeconds: number };
  /** Serve the Next.js UI (tests of the API alone can turn it off). */
  readonly ui: boolean;
  /** Print the start banner. */
  readonly banner: boolean;
  /** How often sockets' sessions are re-checked for expiry (tests shorten it). */
  readonly socketSweepMs: number;
  /**
   * How often a node checks whether its companions were revoked through another node: the
   * backstop for a lost `node:revoke` event (tests lengthen it to show the event alone is enough).
   */
  readonly revocationSweepMs: number;
}

export const DEFAULT_RATE_LIMITS: Readonly<Record<RateClass, RateRule>> = {
  login: { perIp: 30, perAccount: 10, windowSeconds: 60 },
  signup: { perIp: 10, perAccount: 5, windowSeconds: 3600 },
  twoFactor: { perIp: 30, perAccount: 10, windowSeconds: 300 },
  apiRead: { perIp: 600, perAccount: 600, windowSeconds: 60 },
  apiWrite: { perIp: 120, perAccount: 120, windowSeconds: 60 },
};

export const DEFAULT_LOCKOUT = { maxFailures: 10, windowSeconds: 900, lockSeconds: 900 } as const;

export function configFromEnv(env: Env): ConsoleConfig {
  return {
    dev: env.NODE_ENV === "development",
    dataDir: path.resolve(env.VEIL_DATA_DIR),
    host: env.VEIL_HOST,
    httpsPort: env.VEIL_HTTPS_PORT,
    httpPort: env.VEIL_HTTP_PORT === 0 ? null : env.VEIL_HTTP_PORT,
    informPort: env.VEIL_INFORM_PORT ?? null,
    databaseUrl: env.DATABASE_URL ?? null,
    tls: env.VEIL_TLS_CERT && env.VEIL_TLS_KEY ? { certFile: env.VEIL_TLS_CERT, keyFile: env.VEIL_TLS_KEY } : null,
    acme:
      env.VEIL_ACME_DOMAIN && env.VEIL_ACME_EMAIL
        ? { domain: env.VEIL_ACME_DOMAIN, email: env.VEIL_ACME_EMAIL, directory: env.VEIL_ACME_DIRECTORY }
        : null,
    trustedProxies: env.VEIL_TRUSTED_PROXIES,
    publicOrigin: env.VEIL_PUBLIC_ORIGIN ?? null,
    session: {
      idleDefaultSeconds: env.VEIL_SESSION_IDLE_SECONDS,
      maxSeconds: env.VEIL_SESSION_MAX_SECONDS,
      stepUpSeconds: env.VEIL_STEP_UP_SECONDS,
    },
    serverSecret: env.VEIL_SERVER_SECRET ?? null,
    redisUrl: env.REDIS_URL ?? null,
    rateLimits: DEFAULT_RATE_LIMITS,
    lockout: DEFAULT_LOCKOUT,
    ui: true,
    banner: true,
    socketSweepMs: 60_000,
    revocationSweepMs: 2000,
  };
}
