/**
 * The console routes of instances, typed with the protocol's request types and parsed with its
 * response schemas (docs/PROTOCOL-COMPANION.md §1). Everything sent here is public or wrapped:
 * the token, the wrap key and every private key stay in the browser.
 */
import {
  ZCompanionInfoResponseSchema,
  ZGrantListResponseSchema,
  ZGrantSummarySchema,
  ZInstanceListResponseSchema,
  ZInstanceResponseSchema,
  type TGrantCreateRequest,
  type TGrantRevokeRequest,
  type TInstanceCreateRequest,
} from "@veil/protocol";
import { z } from "zod";
import { apiRequest } from "../api";

// Answers the protocol does not name yet (the console's handlers return these shapes).
const ZOkSchema = z.object({ ok: z.literal(true) });
const ZGrantCreatedSchema = z.object({ grant: ZGrantSummarySchema });

const at = (id: string, rest = "") => `/api/instances/${encodeURIComponent(id)}${rest}`;

export const listInstances = () =>
  apiRequest({ method: "GET", path: "/api/instances", schema: ZInstanceListResponseSchema });
export const getInstance = (id: string) => apiRequest({ method: "GET", path: at(id), schema: ZInstanceResponseSchema });
export const createInstance = (body: TInstanceCreateRequest) =>
  apiRequest({ method: "POST", path: "/api/instances", body, schema: ZInstanceResponseSchema });
export const revokeInstance = (id: string) =>
  apiRequest({ method: "POST", path: at(id, "/revoke"), body: {}, schema: ZOkSchema });
export const listGrants = (id: string) =>
  apiRequest({ method: "GET", path: at(id, "/grants"), schema: ZGrantListResponseSchema });
export const createGrant = (id: string, body: TGrantCreateRequest) =>
  apiRequest({ method: "POST", path: at(id, "/grants"), body, schema: ZGrantCreatedSchema });
export const revokeGrant = (id: string, body: TGrantRevokeRequest) =>
  apiRequest({ method: "POST", path: at(id, "/grants/revoke"), body, schema: ZOkSchema });
export const companionInfo = () =>
  apiRequest({ method: "GET", path: "/api/companion-info", schema: ZCompanionInfoResponseSchema });
