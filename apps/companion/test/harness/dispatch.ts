import { randomUUID } from "node:crypto";
import type { AuditRecorder } from "../../src/audit/record-request";
import { dispatchRequest, type DispatchContext } from "../../src/e2e/dispatch-request";
import type { ReplayCache } from "../../src/e2e/replay-cache";
import { silentLogger } from "../../src/log";
import type { TE2EResponse } from "../../src/protocol";

/** A dispatch context for one account and role, without a session around it. */
export function dispatchContext(options: {
  cache: ReplayCache;
  handlers: DispatchContext["handlers"];
  role: string;
  accountId?: string;
  audit?: AuditRecorder | undefined;
}): DispatchContext {
  const { cache, handlers, role, audit } = options;
  return {
    grant: { accountId: options.accountId ?? randomUUID(), role } as never,
    instanceId: randomUUID(),
    now: () => Date.now(),
    cache,
    handlers,
    logger: silentLogger,
    sessionId: "s",
    makeContext: (requestId) => ({
      instanceId: "i",
      grant: { role } as never,
      requestId,
      now: () => Date.now(),
      subscribe: () => requestId,
      cancelSubscription: () => true,
    }),
    ...(audit ? { audit } : {}),
  };
}

/** A request of `type` that expires in a minute. */
export function testRequest(type: string, id: string = randomUUID(), body: unknown = {}) {
  return { kind: "request", id, expiresAt: Date.now() + 60_000, type, body };
}

/** Dispatches one message and returns its one answer (fails if there is not exactly one). */
export async function dispatchOne(raw: unknown, ctx: DispatchContext): Promise<TE2EResponse> {
  const answers: TE2EResponse[] = [];
  await dispatchRequest(raw, ctx, (response) => answers.push(response));
  const [answer, ...more] = answers;
  if (answer === undefined || more.length > 0) throw new Error(`expected one answer, got ${answers.length}`);
  return answer;
}
