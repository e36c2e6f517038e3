import type { TLSSocket } from "node:tls";
import { VeilError, type TCompanionInfoResponse } from "@veil/protocol";
import { spkiPin } from "@veil/tls";
import { expectedOrigin } from "../../http/origin";
import { defineRoute } from "../route";

/**
 * GET /api/companion-info (admin): the console URL and the SPKI pin of the certificate this very
 * connection presented (so ACME renewals and file swaps are always reflected), for the
 * enrollment string and the `curl --pinnedpubkey` line.
 */
export const getCompanionInfo = defineRoute({
  method: "GET",
  path: "/api/companion-info",
  rate: "apiRead",
  auth: "session",
  roles: ["admin"],
  handler: async (ctx) => {
    const cert = (ctx.req.socket as Partial<TLSSocket>).getCertificate?.();
    if (!cert || !("raw" in cert))
      throw new VeilError("internal", { detail: "no local TLS certificate on this connection" });
    const consolePin = spkiPin(cert.raw);
    const consoleUrl = new URL(expectedOrigin(ctx.req, ctx.services.config)).origin;
    return Promise.resolve({
      body: { consoleUrl, consolePin, installScriptPath: "/install.sh" } satisfies TCompanionInfoResponse,
    });
  },
});
