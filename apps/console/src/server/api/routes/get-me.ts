import type { TMeResponse } from "@veil/protocol";
import { kdfWire, keysWire, recoveryWire, userSummary } from "../present";
import { defineRoute, requireAuth } from "../route";

/**
 * GET /api/me — the account with its wrapped keys and KDF params, to unwrap in the browser, and
 * this session's tab vault share, with which a reload of the tab re-opens the keys it sealed.
 */
export const getMe = defineRoute({
  method: "GET",
  path: "/api/me",
  rate: "apiRead",
  auth: "session",
  handler: (ctx) => {
    const { session, user } = requireAuth(ctx);
    const stepUpUntil = session.stepUpAt
      ? new Date(session.stepUpAt.getTime() + ctx.services.config.session.stepUpSeconds * 1000)
      : null;
    const body: TMeResponse = {
      user: { ...userSummary(user), idleTimeoutSeconds: user.idleTimeoutSeconds, keysVersion: user.keysVersion },
      kdf: kdfWire(user),
      keys: keysWire(user),
      recovery: recoveryWire(user),
      session: {
        id: session.id,
        expiresAt: session.expiresAt.toISOString(),
        stepUpUntil: stepUpUntil && stepUpUntil > new Date() ? stepUpUntil.toISOString() : null,
        ...(session.tabVaultShare === null ? {} : { tabVaultShare: session.tabVaultShare }),
      },
    };
    return Promise.resolve({ body });
  },
});
