import type { THealthResponse } from "@veil/protocol";
import { CONSOLE_VERSION } from "../../version";
import { defineRoute } from "../route";

/** GET /api/health — unauthenticated: status and version only. */
export const health = defineRoute({
  method: "GET",
  path: "/api/health",
  rate: "apiRead",
  auth: "public",
  handler: () => Promise.resolve({ body: { status: "ok", version: CONSOLE_VERSION } satisfies THealthResponse }),
});
