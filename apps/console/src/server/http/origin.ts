import type { IncomingMessage } from "node:http";
import type { ConsoleConfig } from "../config";

/** The console's own origin: VEIL_PUBLIC_ORIGIN, else https://<Host header>. */
export function expectedOrigin(req: IncomingMessage, config: Pick<ConsoleConfig, "publicOrigin">): string {
  if (config.publicOrigin) return config.publicOrigin;
  const host = req.headers.host ?? "";
  return `https://${host.toLowerCase()}`;
}

/**
 * True when a browser says the request comes from another site: an Origin header that is not
 * ours, or Sec-Fetch-Site other than same-origin/none. Non-browser clients send neither and
 * cannot ride on a victim's credentials anyway (the token is in a header).
 */
export function isCrossSite(req: IncomingMessage, origin: string): boolean {
  const o = req.headers.origin;
  if (typeof o === "string" && o !== "" && o.toLowerCase() !== origin) return true;
  const site = req.headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") return true;
  return false;
}
