import { COMPANION_API_PREFIX, PROTOCOL_VERSION, ZEnrollResponseSchema } from "../protocol";
import type { Logger } from "../log";
import type { TCompanionSecrets, TPendingRotation } from "../state/state-schemas";
import type { StateStore } from "../state/state-store";
import type { ConsoleTransport } from "../transport/console-transport";
import { COMPANION_VERSION } from "../version";
import { consoleRefusal } from "./console-refusal";
import { RotationError } from "./rotation-error";

type KeyVerdict = "accepted" | "refused" | "unknown";

/**
 * Asks the console whether `authKey` is the instance's current key. The console has no endpoint
 * for only that, so this is `POST …/enroll`, which authenticates with the key and otherwise only
 * serves the wrapped keys (it also refreshes the enrolled time and writes an enrollment audit
 * record): 200 with an enrollment body is yes, its own 401 is no, anything else is unknown.
 */
async function askConsole(transport: ConsoleTransport, instanceId: string, authKey: string): Promise<KeyVerdict> {
  try {
    const res = await transport.requestJson(
      "POST",
      `${COMPANION_API_PREFIX}/instances/${encodeURIComponent(instanceId)}/enroll`,
      { authKey, protocolVersion: PROTOCOL_VERSION, companionVersion: COMPANION_VERSION },
    );
    if (res.status === 200) return ZEnrollResponseSchema.safeParse(res.body).success ? "accepted" : "unknown";
    return consoleRefusal(res) === "unauthenticated" ? "refused" : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * How long after an unconfirmed rotation began the console may still commit it: its request can
 * wait on the instance row's lock, or a proxy can answer 504 while it runs. Until then a console
 * that still takes the current key does not prove the recorded one never took.
 */
export const PENDING_ROTATION_SETTLES_AFTER_MS = 10 * 60_000;

/** Options of {@link settlePendingRotation}. */
export interface SettleOptions {
  store: StateStore;
  transport: ConsoleTransport;
  logger: Logger;
  instanceId: string;
  secrets: TCompanionSecrets;
  pending: TPendingRotation;
  now: () => number;
}

/**
 * Settles an earlier rotation whose outcome is unknown (rotation.json is still there), before a
 * new one may reuse that one slot. The console holds exactly one key: the current one (then the
 * recorded key never took and is dropped) or the recorded one (then it is promoted). Returns the
 * secrets with the key the console holds. Throws `unsettled`, keeping both files, when the
 * console refuses both keys or cannot answer, or when it takes the current key but the earlier
 * rotation began under PENDING_ROTATION_SETTLES_AFTER_MS ago (it may still commit). The caller holds the rotation lock, so the earlier
 * rotation has ended.
 */
export async function settlePendingRotation(options: SettleOptions): Promise<TCompanionSecrets> {
  const { store, transport, logger, instanceId, secrets, pending } = options;
  const current = await askConsole(transport, instanceId, secrets.authKey);
  const age = options.now() - pending.startedAt;
  if (current === "accepted" && age < PENDING_ROTATION_SETTLES_AFTER_MS) {
    logger.warn("an earlier unconfirmed token rotation may still be completing on the console: both keys kept", {
      instanceId,
    });
    throw new RotationError(
      `an earlier token rotation began ${Math.max(0, Math.round(age / 1000))} s ago and may still be completing on the console; nothing was sent, try again in ${Math.ceil((PENDING_ROTATION_SETTLES_AFTER_MS - age) / 60_000)} min`,
      "unsettled",
    );
  }
  if (current === "accepted") {
    store.clearPendingRotation();
    logger.info("an earlier unconfirmed token rotation never reached the console: its key is dropped", {
      instanceId,
    });
    return secrets;
  }
  const recorded = current === "refused" ? await askConsole(transport, instanceId, pending.authKey) : "unknown";
  if (recorded === "accepted") {
    const promoted = { ...secrets, authKey: pending.authKey };
    store.saveSecrets(promoted);
    store.clearPendingRotation();
    logger.warn("the console holds the key of an earlier unconfirmed token rotation: promoted", { instanceId });
    return promoted;
  }
  if (recorded === "refused") {
    logger.error("the console refuses both the current auth key and the unconfirmed rotation's key: both kept", {
      instanceId,
    });
    throw new RotationError(
      "the console refuses both the current auth key and the key of an earlier unconfirmed rotation (revoked, or enrolled again elsewhere?); both are kept in secrets.json and rotation.json",
      "unsettled",
    );
  }
  logger.warn("an earlier token rotation is unconfirmed and the console could not say which key it holds", {
    instanceId,
  });
  throw new RotationError(
    "an earlier token rotation is unconfirmed and the console could not say which key it holds; nothing was sent, try again",
    "unsettled",
  );
}
