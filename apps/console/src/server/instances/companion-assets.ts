import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { CONSOLE_DIR } from "../version";

const REPO_ROOT = path.resolve(CONSOLE_DIR, "..", "..");

/**
 * The files the one-line install fetches (docs/PROTOCOL-COMPANION.md §2): fixed paths mapped to
 * fixed files, nothing derived from the URL. The bundle is `pnpm --filter @veil/companion build`'s
 * output; install.sh checks it against the .sha256 file fetched over the same pinned connection.
 */
const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  "/install.sh": { file: path.join(REPO_ROOT, "infra", "install.sh"), type: "text/x-shellscript; charset=utf-8" },
  "/companion/veil-companion.mjs": {
    file: path.join(REPO_ROOT, "apps", "companion", "dist", "veil-companion.mjs"),
    type: "text/javascript; charset=utf-8",
  },
  "/companion/veil-companion.mjs.sha256": {
    file: path.join(REPO_ROOT, "apps", "companion", "dist", "veil-companion.mjs.sha256"),
    type: "text/plain; charset=utf-8",
  },
  "/companion/veil-companion.service": {
    file: path.join(REPO_ROOT, "infra", "veil-companion.service"),
    type: "text/plain; charset=utf-8",
  },
};

/** True when `pathname` is one of the install assets (and answers it); false lets the caller go on. */
export function serveCompanionAsset(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  log: (line: string) => void,
): boolean {
  const asset = ASSETS[pathname];
  if (!asset) return false;
  req.resume();
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
  readFile(asset.file).then(
    (body) => answer(200, body, asset.type),
    () => {
      log(
        `install asset ${pathname} is missing (${path.relative(REPO_ROOT, asset.file)}): run pnpm --filter @veil/companion build`,
      );
      answer(404, "not found\n", "text/plain; charset=utf-8");
    },
  );
  return true;
}
