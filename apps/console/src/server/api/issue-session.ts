import type { TSessionIssued } from "@veil/protocol";
import { createSession, type UserRow } from "../auth/sessions";
import { audit, type ConsoleServices } from "../services";
import { sessionIssued } from "./present";

/** Creates a session after every required proof passed, and audits the log-in. */
export async function issueSession(
  services: ConsoleServices,
  user: UserRow,
  meta: { ip: string; userAgent: string | null; action: string; details?: Record<string, unknown> },
): Promise<TSessionIssued> {
  const { token, session } = await createSession(services.db, {
    user,
    ip: meta.ip,
    userAgent: meta.userAgent,
    maxSeconds: services.config.session.maxSeconds,
  });
  await audit(services, {
    action: meta.action,
    outcome: "success",
    actorUserId: user.id,
    actorEmail: user.email,
    targetType: "session",
    targetId: session.id,
    ip: meta.ip,
    details: { userAgent: meta.userAgent, ...meta.details },
  });
  return sessionIssued(token, session, user);
}
