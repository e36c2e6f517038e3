import type { AnyRoute } from "./route";
import { createInvite, changeRole, listUsers } from "./routes/admin-routes";
import { readAudit, verifyAudit } from "./routes/audit-routes";
import { changePassword } from "./routes/change-password";
import { getMe } from "./routes/get-me";
import { companionEnroll, companionKdf, companionRotate } from "./routes/instance-companion";
import { getCompanionInfo } from "./routes/instance-companion-info";
import { createInstance } from "./routes/instance-create";
import { createGrant, listGrants, revokeGrant } from "./routes/instance-grants";
import { getInstance, listInstances } from "./routes/instance-list";
import { revokeInstance } from "./routes/instance-revoke";
import { getInstanceSnapshot } from "./routes/instance-snapshot";
import { health } from "./routes/health";
import { listSessions } from "./routes/list-sessions";
import { login } from "./routes/login";
import { login2fa } from "./routes/login-2fa";
import { logout } from "./routes/logout";
import { prelogin } from "./routes/prelogin";
import { recoverComplete, recoverPrelogin, recoverStart } from "./routes/recover";
import { revokeSession } from "./routes/revoke-session";
import { setIdleTimeout } from "./routes/set-idle-timeout";
import { getSettings, updateSettings } from "./routes/settings-routes";
import { signup } from "./routes/signup";
import { stepUp } from "./routes/step-up";
import { confirmTotp, disableTotp, regenerateBackupCodes, setupTotp } from "./routes/totp-routes";

/** Every API route. The authorization matrix test walks this table. */
export const ROUTES: readonly AnyRoute[] = [
  health,
  prelogin,
  signup,
  login,
  login2fa,
  recoverPrelogin,
  recoverStart,
  recoverComplete,
  logout,
  getMe,
  listSessions,
  revokeSession,
  setIdleTimeout,
  stepUp,
  changePassword,
  setupTotp,
  confirmTotp,
  disableTotp,
  regenerateBackupCodes,
  listUsers,
  createInvite,
  changeRole,
  readAudit,
  verifyAudit,
  getSettings,
  updateSettings,
  listInstances,
  createInstance,
  getInstance,
  revokeInstance,
  createGrant,
  revokeGrant,
  listGrants,
  getInstanceSnapshot,
  getCompanionInfo,
  companionKdf,
  companionEnroll,
  companionRotate,
];
