import type { DeriveTokenKeys } from "../enroll/derive-token-keys";
import { enrollInstance } from "../enroll/enroll-instance";
import { EnrollmentError } from "../enroll/verify-certificate";
import type { Logger } from "../log";
import type { TEnrollment } from "../protocol";
import { StateStore } from "../state/state-store";
import { createPinnedTransport, type ConsoleTransport } from "../transport/console-transport";

/** Options of {@link enrollCommand}. */
export interface EnrollCommandOptions {
  stateDir: string;
  enrollment: TEnrollment;
  logger: Logger;
  transport?: ConsoleTransport;
  deriveTokenKeys?: DeriveTokenKeys;
}

/**
 * `veil-companion enroll`: enrolls and writes the state, or stops with a clear error and
 * writes nothing. Re-running for the instance already enrolled here is a no-op (so install.sh
 * can run twice); enrolling a different instance over an existing one is refused.
 */
export async function enrollCommand(
  options: EnrollCommandOptions,
): Promise<{ alreadyEnrolled: boolean; instanceId: string }> {
  const store = new StateStore(options.stateDir);
  store.check({ create: true });
  const existing = store.loadConfig();
  if (existing !== undefined) {
    if (
      existing.instanceId === options.enrollment.instanceId &&
      existing.consoleUrl === options.enrollment.consoleUrl
    ) {
      options.logger.info("already enrolled for this instance: nothing to do", { instanceId: existing.instanceId });
      return { alreadyEnrolled: true, instanceId: existing.instanceId };
    }
    throw new EnrollmentError(
      "already_enrolled",
      `this host is already enrolled as instance ${existing.instanceId}; run 'veil-companion uninstall' first`,
    );
  }
  const transport =
    options.transport ?? createPinnedTransport(options.enrollment.consoleUrl, options.enrollment.consolePin);
  const result = await enrollInstance({
    enrollment: options.enrollment,
    transport,
    logger: options.logger,
    deriveTokenKeys: options.deriveTokenKeys,
  });
  store.saveEnrollment(result.config, result.secrets);
  options.logger.info("enrolled", { instanceId: result.config.instanceId });
  return { alreadyEnrolled: false, instanceId: result.config.instanceId };
}
