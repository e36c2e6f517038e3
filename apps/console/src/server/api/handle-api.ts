import type { IncomingMessage, ServerResponse } from "node:http";
import { parseOrThrow, VeilError } from "@veil/protocol";
import { AccountLockedError } from "../auth/lockout";
import { authenticateToken } from "../auth/sessions";
import { clientIp } from "../http/client-ip";
import { readJsonBody, DEFAULT_BODY_LIMIT } from "../http/read-body";
import { sendError, sendJson } from "../http/respond";
import { audit, type ConsoleServices } from "../services";
import { expectedOrigin, isCrossSite } from "../http/origin";
import type { ApiContext, AnyRoute } from "./route";

interface Compiled {
  readonly route: AnyRoute;
  readonly pattern: RegExp;
  readonly names: string[];
}

function compile(route: AnyRoute): Compiled {
  const names: string[] = [];
  const source = route.path
    .split("/")
    .map((seg) => {
      if (!seg.startsWith(":")) return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(seg.slice(1));
      return "([A-Za-z0-9_-]{1,64})";
    })
    .join("/");
  return { route, pattern: new RegExp(`^${source}$`), names };
}

/**
 * The API pipeline, in order: same-origin check, route match, session, role, body
 * (size-capped, JSON, zod), rate limit (per IP and per account, headers on every answer;
 * counted for every request, even refused ones; against the account only while the IP is
 * within its limit), step-up, handler. Every failure is a VeilError answered as {error:{code,message,retryable}}.
 */
export function createApiHandler(services: ConsoleServices, routes: readonly AnyRoute[]) {
  const table = routes.map(compile);

  return async function handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ip = clientIp(req, services.trustedProxies);
    try {
      const url = new URL(req.url ?? "/", "https://console.invalid");
      // Defence in depth beside the header token: browsers mark cross-site requests.
      if (isCrossSite(req, expectedOrigin(req, services.config))) throw new VeilError("origin_mismatch");

      const matches = table.map((c) => ({ c, m: c.pattern.exec(url.pathname) })).filter((x) => x.m);
      const hit = matches.find(
        (x) => x.c.route.method === req.method || (req.method === "HEAD" && x.c.route.method === "GET"),
      );
      if (!hit?.m) {
        // Probing unknown routes costs from the same per-IP budget as reads.
        const d = services.limiter.consume("apiRead", ip);
        res.setHeader("X-RateLimit-Limit", String(d.limit));
        res.setHeader("X-RateLimit-Remaining", String(d.remaining));
        res.setHeader("X-RateLimit-Reset", String(d.resetSeconds));
        if (!d.allowed) {
          res.setHeader("Retry-After", String(d.resetSeconds));
          throw new VeilError("rate_limited");
        }
        throw new VeilError(matches.length ? "method_not_allowed" : "not_found");
      }
      const route = hit.c.route;
      const params: Record<string, string> = {};
      hit.c.names.forEach((n, i) => (params[n] = hit.m?.[i + 1] ?? ""));
      const userAgent = typeof req.headers["user-agent"] === "string" ? req.headers["user-agent"].slice(0, 400) : null;

      // Session from the x-auth-token header only (never a cookie, never the query string).
      let auth: ApiContext<unknown, unknown>["auth"] = null;
      let authError: VeilError | null = null;
      if (route.auth === "session") {
        const token = req.headers["x-auth-token"];
        if (typeof token !== "string" || token === "") authError = new VeilError("unauthenticated");
        else {
          const result = await authenticateToken(services.db, token);
          if (result.ok) auth = { session: result.session, user: result.user };
          else authError = new VeilError(result.reason === "expired" ? "session_expired" : "unauthenticated");
        }
      }

      // Role before input: a caller without the role learns nothing about the body's rules.
      const roleDenied = auth !== null && route.roles !== undefined && !route.roles.includes(auth.user.role);

      let body: unknown = undefined;
      let bodyError: VeilError | null = null;
      if (!authError && !roleDenied && route.body) {
        try {
          body = parseOrThrow(route.body, await readJsonBody(req, route.bodyLimit ?? DEFAULT_BODY_LIMIT));
        } catch (error) {
          bodyError = error instanceof VeilError ? error : new VeilError("bad_request");
        }
      } else if (req.method !== "GET" && req.method !== "HEAD") {
        req.resume();
      }
      let query: unknown = undefined;
      if (!authError && !roleDenied && !bodyError && route.query) {
        try {
          query = parseOrThrow(route.query, Object.fromEntries(url.searchParams));
        } catch (error) {
          bodyError = error instanceof VeilError ? error : new VeilError("bad_request");
        }
      }

      const account =
        auth?.user.id ??
        (body !== undefined && route.rateAccount ? await route.rateAccount(body, services) : undefined);
      const decision = services.limiter.consume(route.rate, ip, account);
      res.setHeader("X-RateLimit-Limit", String(decision.limit));
      res.setHeader("X-RateLimit-Remaining", String(decision.remaining));
      res.setHeader("X-RateLimit-Reset", String(decision.resetSeconds));
      if (!decision.allowed) {
        res.setHeader("Retry-After", String(decision.resetSeconds));
        if (decision.firstRefusal) {
          await audit(services, {
            action: "rate_limit.exceeded",
            outcome: "denied",
            actorUserId: auth?.user.id ?? null,
            actorEmail: auth?.user.email ?? null,
            ip,
            details: { class: route.rate, key: decision.exceeded, route: `${route.method} ${route.path}` },
          });
        }
        throw new VeilError("rate_limited");
      }
      if (authError) throw authError;
      if (auth && roleDenied) {
        await audit(services, {
          action: "permission.denied",
          outcome: "denied",
          actorUserId: auth.user.id,
          actorEmail: auth.user.email,
          ip,
          details: { route: `${route.method} ${route.path}`, role: auth.user.role },
        });
        throw new VeilError("forbidden");
      }
      if (bodyError) throw bodyError;
      if (auth && route.stepUp) {
        const fresh =
          auth.session.stepUpAt &&
          Date.now() - auth.session.stepUpAt.getTime() <= services.config.session.stepUpSeconds * 1000;
        if (!fresh) throw new VeilError("step_up_required");
      }

      const result = await route.handler({ req, res, services, ip, userAgent, params, body, query, auth });
      for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
      sendJson(res, result.status ?? 200, result.body);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof VeilError) {
        if (error instanceof AccountLockedError) res.setHeader("Retry-After", String(error.retryAfterSeconds));
        if (error.detail && error.code === "internal") services.log(`api: ${error.detail}`);
        sendError(res, error);
        return;
      }
      services.log(
        `api: unexpected error on ${req.method ?? "?"} ${(req.url ?? "").split("?")[0] ?? ""}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      sendError(res, new VeilError("internal"));
    }
  };
}
