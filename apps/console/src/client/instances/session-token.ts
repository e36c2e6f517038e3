/**
 * The tab's session token for the E2E relay socket. session-store.ts keeps it in
 * sessionStorage (`veil.session.v1`) and does not export a getter, so it is read here with the
 * same shape check. It goes only into the socket.io handshake `auth`, never a URL.
 */
import { z } from "zod";

const ZStoredTokenSchema = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });

export function sessionToken(): string {
  let raw: string | null;
  try {
    raw = sessionStorage.getItem("veil.session.v1");
  } catch {
    raw = null;
  }
  let value: unknown;
  try {
    value = raw === null ? null : JSON.parse(raw);
  } catch {
    value = null;
  }
  const parsed = ZStoredTokenSchema.safeParse(value);
  if (!parsed.success) throw new Error("Sign in to continue.");
  return parsed.data.token;
}
