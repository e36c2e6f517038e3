import { and, eq, isNull } from "drizzle-orm";
import { sessions, users, type VeilDatabase } from "@veil/db";
import { b64u, fromB64u, labelledHash, random256, SESSION_TOKEN_LABEL } from "./bytes";

export type SessionRow = typeof sessions.$inferSelect;
export type UserRow = typeof users.$inferSelect;

export function hashSessionToken(token: Uint8Array): Uint8Array {
  return labelledHash(SESSION_TOKEN_LABEL, token);
}

/** Idle deadline of a session: last activity plus its idle timeout, never past the absolute cap. */
export function idleDeadline(s: Pick<SessionRow, "lastSeenAt" | "idleTimeoutSeconds" | "expiresAt">): Date {
  return new Date(Math.min(s.lastSeenAt.getTime() + s.idleTimeoutSeconds * 1000, s.expiresAt.getTime()));
}

/**
 * Issues a 256-bit token; only its hash is stored. The absolute cap is never extended. The
 * session also gets its own tab vault share (32 random bytes), which GET /api/me gives back to
 * this session only and which is cleared when the session ends (see `sessions.tabVaultShare`).
 */
export async function createSession(
  db: VeilDatabase,
  input: { user: UserRow; ip: string; userAgent: string | null; maxSeconds: number },
): Promise<{ token: string; session: SessionRow }> {
  const token = random256();
  const now = new Date();
  const [session] = await db
    .insert(sessions)
    .values({
      tokenHash: hashSessionToken(token),
      tabVaultShare: b64u(random256()),
      userId: input.user.id,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + input.maxSeconds * 1000),
      idleTimeoutSeconds: input.user.idleTimeoutSeconds,
      ip: input.ip,
      userAgent: input.userAgent?.slice(0, 400) ?? null,
    })
    .returning();
  if (!session) throw new Error("session insert returned nothing");
  return { token: b64u(token), session };
}

export type AuthResult =
  { ok: true; session: SessionRow; user: UserRow } | { ok: false; reason: "invalid" | "expired" };

/** Don't write last_seen_at more often than this (activity still extends the idle deadline). */
const TOUCH_EVERY_MS = 15_000;

/**
 * Resolves an `x-auth-token` (or socket auth token) to its live session and user, and extends
 * the idle deadline on activity. Revoked, idle-expired and absolutely-expired sessions fail.
 */
export async function authenticateToken(db: VeilDatabase, token: string, now = new Date()): Promise<AuthResult> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false, reason: "invalid" };
  const [row] = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, hashSessionToken(fromB64u(token))), isNull(sessions.revokedAt)));
  if (!row) return { ok: false, reason: "invalid" };
  if (idleDeadline(row.session) <= now) {
    // The session is over: its tab vault share goes now (pruneLoginState catches the ones never used again).
    if (row.session.tabVaultShare !== null)
      await db.update(sessions).set({ tabVaultShare: null }).where(eq(sessions.id, row.session.id));
    return { ok: false, reason: "expired" };
  }
  if (now.getTime() - row.session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, row.session.id));
    row.session.lastSeenAt = now;
  }
  return { ok: true, session: row.session, user: row.user };
}
