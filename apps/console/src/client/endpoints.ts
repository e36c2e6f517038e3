/**
 * One typed function per console route the browser uses. Bodies are built from the protocol's
 * request types, so the browser can only send what the schemas allow; answers are parsed with
 * the protocol's response schemas (and, for the few routes the protocol does not describe yet,
 * with the small local schemas below — see docs/UI.md "API notes").
 */
import {
  ZAuditListResponseSchema,
  ZBackupCodesResponseSchema,
  ZInviteCreateResponseSchema,
  ZLogin2faResponseSchema,
  ZLoginResponseSchema,
  ZMeResponseSchema,
  ZPreloginResponseSchema,
  ZRoleSchema,
  ZSessionListResponseSchema,
  ZSignupResponseSchema,
  ZStepUpResponseSchema,
  ZTotpSetupResponseSchema,
  ZUserListResponseSchema,
  type TIdleTimeoutRequest,
  type TInviteCreateRequest,
  type TLogin2faRequest,
  type TLoginRequest,
  type TPasswordChangeRequest,
  type TPreloginRequest,
  type TRole,
  type TSignupRequest,
  type TStepUpRequest,
} from "@veil/protocol";
import { z } from "zod";
import { apiRequest } from "./api";

// Answers the protocol package does not define yet (the console's handlers return these shapes).
const ZOkSchema = z.object({ ok: z.literal(true) });
const ZPasswordChangedSchema = z.object({ ok: z.literal(true), sessionsEnded: z.number().int().nonnegative() });
const ZIdleTimeoutSetSchema = z.object({ idleTimeoutSeconds: z.number().int() });
const ZRoleChangedSchema = z.object({ id: z.string(), role: ZRoleSchema });

export const prelogin = (body: TPreloginRequest) =>
  apiRequest({ method: "POST", path: "/api/auth/prelogin", body, schema: ZPreloginResponseSchema, auth: false });
export const signup = (body: TSignupRequest) =>
  apiRequest({ method: "POST", path: "/api/auth/signup", body, schema: ZSignupResponseSchema, auth: false });
export const login = (body: TLoginRequest) =>
  apiRequest({ method: "POST", path: "/api/auth/login", body, schema: ZLoginResponseSchema, auth: false });
/** Exactly one of `code` (TOTP) and `backupCode`. */
export const login2fa = (body: TLogin2faRequest) =>
  apiRequest({ method: "POST", path: "/api/auth/login/2fa", body, schema: ZLogin2faResponseSchema, auth: false });
export const logout = () => apiRequest({ method: "POST", path: "/api/auth/logout", body: {}, schema: ZOkSchema });

export const getMe = () => apiRequest({ method: "GET", path: "/api/me", schema: ZMeResponseSchema });
export const listSessions = () =>
  apiRequest({ method: "GET", path: "/api/sessions", schema: ZSessionListResponseSchema });
export const revokeSession = (id: string) =>
  apiRequest({ method: "DELETE", path: `/api/sessions/${encodeURIComponent(id)}`, schema: ZOkSchema });
export const setIdleTimeout = (body: TIdleTimeoutRequest) =>
  apiRequest({ method: "PUT", path: "/api/account/idle-timeout", body, schema: ZIdleTimeoutSetSchema });
export const stepUp = (body: TStepUpRequest) =>
  apiRequest({ method: "POST", path: "/api/account/step-up", body, schema: ZStepUpResponseSchema });
export const changePassword = (body: TPasswordChangeRequest) =>
  apiRequest({ method: "POST", path: "/api/account/password", body, schema: ZPasswordChangedSchema });

export const setupTotp = () =>
  apiRequest({ method: "POST", path: "/api/account/totp/setup", body: {}, schema: ZTotpSetupResponseSchema });
export const confirmTotp = (code: string) =>
  apiRequest({ method: "POST", path: "/api/account/totp/confirm", body: { code }, schema: ZBackupCodesResponseSchema });
export const disableTotp = () =>
  apiRequest({ method: "POST", path: "/api/account/totp/disable", body: {}, schema: ZOkSchema });
export const regenerateBackupCodes = () =>
  apiRequest({ method: "POST", path: "/api/account/backup-codes", body: {}, schema: ZBackupCodesResponseSchema });

export const listUsers = () => apiRequest({ method: "GET", path: "/api/users", schema: ZUserListResponseSchema });
export const createInvite = (body: TInviteCreateRequest) =>
  apiRequest({ method: "POST", path: "/api/invites", body, schema: ZInviteCreateResponseSchema });
export const changeRole = (id: string, role: TRole) =>
  apiRequest({
    method: "PUT",
    path: `/api/users/${encodeURIComponent(id)}/role`,
    body: { role },
    schema: ZRoleChangedSchema,
  });

export interface AuditFilter {
  readonly action?: string;
  readonly actor?: string;
  readonly outcome?: "success" | "failure" | "denied";
  readonly from?: string;
  readonly to?: string;
  readonly before?: number;
  readonly limit?: number;
}
export const readAudit = (filter: AuditFilter) =>
  apiRequest({ method: "GET", path: "/api/audit", query: { ...filter }, schema: ZAuditListResponseSchema });
