// The real console on PGlite for tests and benchmarks that play many clients from one address:
// API and relay only (no UI, no plain-HTTP or inform port), HTTP rate limits lifted. No vitest
// import, so the benchmarks and child processes can use it too.
import { DEFAULT_RATE_LIMITS } from "../../src/server/config";
import { startConsole, type RunningConsole } from "../../src/server/start-console";

/** Limits no test or benchmark reaches: one address plays every browser and host. */
const UNLIMITED = { perIp: 1e9, perAccount: 1e9, windowSeconds: 60 };

export function startLocalConsole(options: {
  dataDir: string;
  /** 0: any free port. */
  port: number;
  /** Several nodes: the Redis they share (none: one node). */
  redisUrl?: string;
  log?: (line: string) => void;
}): Promise<RunningConsole> {
  return startConsole({
    port: options.port,
    host: "127.0.0.1",
    httpPort: null,
    informPort: null,
    dataDir: options.dataDir,
    databaseUrl: null,
    redisUrl: options.redisUrl ?? null,
    ui: false,
    banner: false,
    log: options.log ?? (() => undefined),
    rateLimits: {
      ...DEFAULT_RATE_LIMITS,
      login: UNLIMITED,
      signup: UNLIMITED,
      apiRead: UNLIMITED,
      apiWrite: UNLIMITED,
    },
  });
}
