import { eq } from "drizzle-orm";
import { users } from "@veil/db";
import { ZPreloginRequestSchema, type TPreloginResponse } from "@veil/protocol";
import { b64u } from "../../auth/bytes";
import { DEFAULT_KDF } from "../kdf-policy";
import { kdfWire } from "../present";
import { defineRoute } from "../route";

/**
 * POST /api/auth/prelogin — the KDF params and salt for an e-mail. Unknown e-mails get a
 * deterministic fake (HMAC of the e-mail under a server key, default params): same shape,
 * same answer every time, same work (one indexed lookup + one HMAC on both paths).
 */
export const prelogin = defineRoute({
  method: "POST",
  path: "/api/auth/prelogin",
  rate: "login",
  auth: "public",
  body: ZPreloginRequestSchema,
  rateAccount: (b) => b.email,
  handler: async ({ body, services }) => {
    const fake = services.secrets.fakeSalt(body.email);
    const [user] = await services.db
      .select({ kdfParams: users.kdfParams, kdfSalt: users.kdfSalt })
      .from(users)
      .where(eq(users.email, body.email));
    const kdf = user ? kdfWire(user) : { alg: "argon2id" as const, ...DEFAULT_KDF, salt: b64u(fake) };
    return { body: { kdf } satisfies TPreloginResponse };
  },
});
