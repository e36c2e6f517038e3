import { mkdirSync, readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { openDatabase, pruneAudit, type OpenedDatabase } from "@veil/db";
import { VeilError } from "@veil/protocol";
import { parseEnv, trustedProxyList } from "../env";
import { createApiHandler } from "./api/handle-api";
import { ROUTES } from "./api/routes";
import { loadSettings } from "./api/routes/settings-routes";
import { LOGIN_STATE_PRUNE_MS, pruneLoginState } from "./auth/prune-login-state";
import { ServerSecrets } from "./auth/server-secrets";
import { configFromEnv, type ConsoleConfig } from "./config";
import { createPlainHttpHandler, refusePlainUpgrade } from "./http/plain-http";
import { createCompanionAssets } from "./instances/companion-assets";
import { RateLimiter } from "./http/rate-limit";
import { sendError } from "./http/respond";
import { applySecurityHeaders, buildCsp, guardResponseHeaders, newNonce } from "./http/security-headers";
import { audit, type ConsoleServices } from "./services";
import {
  attachBrowserSockets,
  attachCompanionSockets,
  endSessionSockets,
  startSocketSessionSweep,
} from "./socket/attach-sockets";
import { AcmeManager } from "./tls/acme";
import { describeCertificate, type CertificateInfo } from "./tls/certificate-info";
import { loadOrCreateSelfSigned, type PemPair } from "./tls/self-signed";
import { tlsServerOptions } from "./tls/tls-options";
import { CONSOLE_DIR, CONSOLE_VERSION } from "./version";

export interface StartConsoleOptions extends Partial<ConsoleConfig> {
  /** HTTPS port (0 = any free port). Alias of httpsPort. */
  readonly port?: number;
  readonly log?: (line: string) => void;
  /** Time for the relay's frame budgets (tests freeze it to meter floods exactly). */
  readonly relayClock?: () => number;
}

export interface RunningConsole {
  readonly config: ConsoleConfig;
  readonly httpsPort: number;
  readonly httpPort: number | null;
  readonly informPort: number | null;
  /** https://localhost:<port> or VEIL_PUBLIC_ORIGIN. */
  readonly url: string;
  readonly certificate: CertificateInfo & {
    readonly source: "files" | "acme" | "self-signed";
    readonly certPem: string;
  };
  readonly database: OpenedDatabase;
  readonly services: ConsoleServices;
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Slow-client limits: headers within 15 s, a whole request within 60 s (WebSockets upgrade
 * first). Idle keep-alive connections stay 65 s rather than Node's 5 s: a browser that reuses a
 * pooled connection just as the server closes it must retry, and on a busy host those retries
 * ran out (Chromium: ERR_TOO_MANY_RETRIES on an ordinary API call).
 */
function limitSlowClients(server: HttpServer | HttpsServer): void {
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
}

function closeServer(server: HttpServer | HttpsServer | null): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Starts the console: database (PGlite or PostgreSQL, migrated), TLS certificate (files,
 * ACME or self-signed), one HTTPS server for Next.js + API + socket.io, the plain-HTTP port
 * (ACME + redirects) and the optional companion-only inform port. Used by main.ts and tests.
 */
export async function startConsole(options: StartConsoleOptions = {}): Promise<RunningConsole> {
  const { port, log: logOption, relayClock, ...overrides } = options;
  const base = configFromEnv(parseEnv({ NODE_ENV: "production" }));
  const config: ConsoleConfig = { ...base, ...overrides, ...(port !== undefined ? { httpsPort: port } : {}) };
  const log = logOption ?? ((line: string) => console.log(line));
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

  const database = await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: config.dataDir });
  const limiter = new RateLimiter(config.rateLimits);
  let io: ReturnType<typeof attachBrowserSockets> | null = null;
  const services: ConsoleServices = {
    config,
    db: database.db,
    secrets: ServerSecrets.load(config.dataDir, config.serverSecret),
    limiter,
    trustedProxies: trustedProxyList(config.trustedProxies),
    log,
    ...(relayClock !== undefined ? { relayClock } : {}),
    endSessionSockets: (ids, reason) => {
      if (io) endSessionSockets(io, ids, reason);
    },
  };

  let httpServer: HttpServer | null = null;
  let httpsServer: HttpsServer | null = null;
  let informServer: HttpsServer | null = null;
  let acme: AcmeManager | null = null;
  let httpsPortBound = config.httpsPort;
  const timers: NodeJS.Timeout[] = [];
  let nextApp: { close(): Promise<void> } | null = null;
  const redisClients: { quit(): Promise<unknown> }[] = [];

  try {
    // Plain HTTP first: ACME needs it to answer challenges before HTTPS has a certificate.
    if (config.httpPort !== null) {
      httpServer = createHttpServer(
        createPlainHttpHandler({
          httpsPort: () => httpsPortBound,
          publicOrigin: config.publicOrigin,
          acmeChallenges: () => acme?.challenges ?? new Map(),
        }),
      );
      httpServer.on("upgrade", refusePlainUpgrade);
      limitSlowClients(httpServer);
    }
    const httpPort = httpServer ? await listen(httpServer, config.httpPort ?? 0, config.host) : null;

    // Certificate: user files, else ACME, else self-signed (also the ACME fallback).
    let pair: PemPair;
    let source: "files" | "acme" | "self-signed";
    if (config.tls) {
      pair = { certPem: readFileSync(config.tls.certFile, "utf8"), keyPem: readFileSync(config.tls.keyFile, "utf8") };
      source = "files";
    } else if (config.acme) {
      acme = new AcmeManager({ ...config.acme, dataDir: config.dataDir, log });
      const existing = acme.current();
      try {
        pair = existing ?? (await acme.obtain());
        source = "acme";
      } catch (error) {
        log(
          `ACME failed (${error instanceof Error ? error.message : String(error)}); serving the self-signed certificate until a retry succeeds`,
        );
        pair = await loadOrCreateSelfSigned(config.dataDir);
        source = "self-signed";
      }
    } else {
      pair = await loadOrCreateSelfSigned(config.dataDir);
      source = "self-signed";
    }

    let handleNext: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | null = null;
    if (config.ui) {
      const { default: next } = await import("next");
      const app = next({
        dev: config.dev,
        dir: CONSOLE_DIR,
        customServer: true,
        hostname: "localhost",
        port: config.httpsPort || 8443,
      });
      await app.prepare();
      handleNext = app.getRequestHandler();
      nextApp = app;
    }

    const handleApi = createApiHandler(services, ROUTES);
    // Read once and kept; limited like API reads (before any page or API work).
    const serveCompanionAsset = createCompanionAssets({ limiter, trustedProxies: services.trustedProxies, log });
    httpsServer = createHttpsServer(tlsServerOptions(pair), (req, res) => {
      guardResponseHeaders(res);
      // Only this server decides these; a client must not be able to inject them.
      for (const h of [
        "x-nonce",
        "content-security-policy",
        "x-middleware-subrequest",
        "x-invoke-path",
        "x-invoke-query",
      ])
        delete req.headers[h];
      const pathname = (req.url ?? "/").split("?")[0] ?? "/";
      const nonce = newNonce();
      const noStore = !pathname.startsWith("/_next/static/");
      applySecurityHeaders(res, { nonce, noStore });
      if (noStore) {
        // Pages carry a per-request nonce and API answers carry account data: never cacheable.
        const setHeader = res.setHeader.bind(res);
        res.setHeader = (name: string, value: number | string | readonly string[]) =>
          setHeader(name, name.toLowerCase() === "cache-control" ? "no-store" : value);
      }
      if (serveCompanionAsset(req, res, pathname)) return;
      if (pathname === "/api" || pathname.startsWith("/api/")) {
        void handleApi(req, res);
        return;
      }
      if (!handleNext) return sendError(res, new VeilError("not_found"));
      req.headers["content-security-policy"] = buildCsp(nonce);
      req.headers["x-nonce"] = nonce;
      handleNext(req, res).catch((error: unknown) => {
        log(`next: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) sendError(res, new VeilError("internal"));
      });
    });
    limitSlowClients(httpsServer);
    io = attachBrowserSockets(httpsServer, services);
    if (config.redisUrl) {
      // Several nodes behind a load balancer: socket.io rooms (session revoke) and the nodes'
      // server-side events (relays, companions, revocations) span every node through Redis.
      // Loaded only then: a single node never needs the Redis client.
      const { attachRedisAdapter } = await import("./socket/redis-adapter");
      redisClients.push(...(await attachRedisAdapter(io, config.redisUrl, log)));
    }
    timers.push(startSocketSessionSweep(io, services, config.socketSweepMs));
    httpsPortBound = await listen(httpsServer, config.httpsPort, config.host);

    let informPort: number | null = null;
    if (config.informPort !== null) {
      informServer = createHttpsServer(tlsServerOptions(pair), (req, res) => {
        guardResponseHeaders(res);
        req.resume();
        sendError(res, new VeilError("not_found"));
      });
      limitSlowClients(informServer);
      attachCompanionSockets(informServer, services);
      informPort = await listen(informServer, config.informPort, config.host);
    }

    if (acme) {
      acme.startRenewal(
        (renewed) => {
          httpsServer?.setSecureContext(tlsServerOptions(renewed));
          informServer?.setSecureContext(tlsServerOptions(renewed));
          log(`ACME: certificate renewed, new fingerprint ${describeCertificate(renewed.certPem).fingerprint256}`);
        },
        source === "acme" ? undefined : 3600_000,
      );
    }

    // Audit retention: daily clean-up that keeps the chain verifiable from the stored anchor.
    const prune = async () => {
      const { auditRetentionDays } = await loadSettings(services.db);
      const { deleted, anchorSeq } = await pruneAudit(services.db, new Date(Date.now() - auditRetentionDays * DAY_MS));
      if (deleted > 0)
        await audit(services, {
          action: "audit.prune",
          outcome: "success",
          details: { deleted, anchorSeq, retentionDays: auditRetentionDays },
        });
    };
    const runPrune = () =>
      void prune().catch((e: unknown) => log(`audit clean-up failed: ${e instanceof Error ? e.message : String(e)}`));
    const first = setTimeout(runPrune, 60_000);
    const daily = setInterval(runPrune, DAY_MS);
    first.unref();
    daily.unref();
    timers.push(first, daily);

    // Expired challenges and spent lock-out rows: failed log-ins for made-up e-mails add them.
    const loginState = setInterval(
      () =>
        void pruneLoginState(services.db, config.lockout).catch((e: unknown) =>
          log(`log-in state clean-up failed: ${e instanceof Error ? e.message : String(e)}`),
        ),
      LOGIN_STATE_PRUNE_MS,
    );
    loginState.unref();
    timers.push(loginState);

    await audit(services, {
      action: "console.start",
      outcome: "success",
      details: { version: CONSOLE_VERSION, driver: database.driver, certificate: source },
    });

    const info = describeCertificate(pair.certPem);
    const url = config.publicOrigin ?? `https://localhost${httpsPortBound === 443 ? "" : `:${httpsPortBound}`}`;
    if (config.banner) {
      log(
        [
          `Veil console ${CONSOLE_VERSION} is running.`,
          `  Open:             ${url}/`,
          `  HTTPS port:       ${httpsPortBound}${httpPort !== null ? `   HTTP port (ACME + redirect): ${httpPort}` : ""}${informPort !== null ? `   inform port: ${informPort}` : ""}`,
          `  Certificate:      ${source}${source === "self-signed" ? ` (${path.join(config.dataDir, "tls", "self-signed.crt")})` : ""}`,
          `  SHA-256 fingerprint: ${info.fingerprint256}`,
          `  SPKI pin:         ${info.spkiPin}`,
          `  Database:         ${database.driver === "pglite" ? `embedded PGlite in ${path.join(config.dataDir, "pglite")}` : "PostgreSQL (DATABASE_URL)"}`,
        ].join("\n"),
      );
    }

    let closed = false;
    return {
      config,
      httpsPort: httpsPortBound,
      httpPort,
      informPort,
      url,
      certificate: { ...info, source, certPem: pair.certPem },
      database,
      services,
      async close() {
        if (closed) return;
        closed = true;
        for (const t of timers) clearTimeout(t);
        acme?.stop();
        limiter.close();
        await new Promise<void>((resolve) => (io ? void io.close(() => resolve()) : resolve()));
        await Promise.all([closeServer(httpsServer), closeServer(httpServer), closeServer(informServer)]);
        await Promise.all(redisClients.map((r) => r.quit().catch(() => undefined)));
        await nextApp?.close().catch(() => undefined);
        await database.close();
      },
    };
  } catch (error) {
    await Promise.all(redisClients.map((r) => r.quit().catch(() => undefined)));
    for (const t of timers) clearTimeout(t);
    acme?.stop();
    limiter.close();
    await Promise.all([closeServer(httpsServer), closeServer(httpServer), closeServer(informServer)]);
    await database.close();
    throw error;
  }
}
