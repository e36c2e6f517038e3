import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BlockList } from "node:net";
import path from "node:path";
import { VeilError } from "@veil/protocol";
import { clientIp } from "../http/client-ip";
import type { RateLimiter } from "../http/rate-limit";
import { sendError } from "../http/respond";
import { CONSOLE_DIR } from "../version";

const REPO_ROOT = path.resolve(CONSOLE_DIR, "..", "..");
const BUNDLE_FILE = path.join(REPO_ROOT, "apps", "companion", "dist", "veil-companion.mjs");

/**
 * The files the one-line install fetches (docs/PROTOCOL-COMPANION.md §2): fixed paths mapped to
 * fixed files, nothing derived from the URL. The bundle is `pnpm --filter @veil/companion build`'s
 * output; install.sh checks it against the .sha256 answer, fetched over the same pinned connection.
 * install.sh no longer fetches the unit (it carries its own copy); it is still served for earlier
 * install.sh versions and for operators who read it.
 */
const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  "/install.sh": { file: path.join(REPO_ROOT, "infra", "install.sh"), type: "text/x-shellscript; charset=utf-8" },
  "/companion/veil-companion.mjs": { file: BUNDLE_FILE, type: "text/javascript; charset=utf-8" },
  // Computed from the bundle this console holds (below), so the two answers always agree.
  "/companion/veil-companion.mjs.sha256": { file: BUNDLE_FILE, type: "text/plain; charset=utf-8" },
  "/companion/veil-companion.service": {
    file: path.join(REPO_ROOT, "infra", "veil-companion.service"),
    type: "text/plain; charset=utf-8",
  },
};

/** What {@link createCompanionAssets} needs: the console's rate limiter and who is a trusted proxy. */
export interface CompanionAssetOptions {
  readonly limiter: RateLimiter;
  readonly trustedProxies: BlockList;
  readonly log: (line: string) => void;
}

/** Answers an install asset request; true when `pathname` is one (false lets the caller go on). */
export type ServeCompanionAsset = (req: IncomingMessage, res: ServerResponse, pathname: string) => boolean;

/**
 * The install assets' handler. Each file is read once, on its first request, and kept (the bundle
 * is about 3.3 MB: read per request, every slow client held its own copy), and the bundle's
 * SHA-256 is computed once from the bytes served, so the bundle and its .sha256 never come from
 * two different builds; rebuilding the companion takes a console restart to be served. A file
 * that is missing is looked for again on the next request. Every request, refused or not, counts
 * against the client's address in the API's read class, with the same X-RateLimit-* headers and
 * 429 answer as the API: the assets are public, and otherwise cost anyone nothing to ask for.
 */
export function createCompanionAssets(options: CompanionAssetOptions): ServeCompanionAsset {
  const cache = new Map<string, Promise<Buffer>>();
  const load = (pathname: string, file: string): Promise<Buffer> => {
    let body = cache.get(pathname);
    if (body === undefined) {
      body =
        pathname === "/companion/veil-companion.mjs.sha256"
          ? load("/companion/veil-companion.mjs", file).then((bundle) =>
              Buffer.from(`${createHash("sha256").update(bundle).digest("hex")}  ${path.basename(file)}\n`),
            )
          : readFile(file);
      cache.set(pathname, body);
      // Not found (not built yet): forget it, so that the next request looks again.
      body.catch(() => cache.delete(pathname));
    }
    return body;
  };

  return (req, res, pathname) => {
    const asset = ASSETS[pathname];
    if (!asset) return false;
    req.resume();
    const d = options.limiter.consume("apiRead", clientIp(req, options.trustedProxies));
    res.setHeader("X-RateLimit-Limit", String(d.limit));
    res.setHeader("X-RateLimit-Remaining", String(d.remaining));
    res.setHeader("X-RateLimit-Reset", String(d.resetSeconds));
    if (!d.allowed) {
      res.setHeader("Retry-After", String(d.resetSeconds));
      sendError(res, new VeilError("rate_limited"));
      return true;
    }
    const answer = (status: number, body: Buffer | string, type: string): void => {
      res.statusCode = status;
      res.setHeader("Content-Type", type);
      res.setHeader("Content-Length", Buffer.byteLength(body));
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      answer(405, "method not allowed\n", "text/plain; charset=utf-8");
      return true;
    }
    load(pathname, asset.file).then(
      (body) => answer(200, body, asset.type),
      () => {
        options.log(
          `install asset ${pathname} is missing (${path.relative(REPO_ROOT, asset.file)}): run pnpm --filter @veil/companion build`,
        );
        answer(404, "not found\n", "text/plain; charset=utf-8");
      },
    );
    return true;
  };
}
