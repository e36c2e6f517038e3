import { EnrollmentError } from "../enroll/verify-certificate";
import { StatePermissionError } from "../state/check-permissions";
import { StateFileCorruptError } from "../state/state-store";

/** Why a command stopped: a stable `code` for scripts, and a message that says what to do. */
export class CommandError extends Error {
  constructor(
    readonly code: "running",
    message: string,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

/**
 * The stable code and the message of an error a command stopped on, as `status --json` prints
 * it (`{"error":{"code","message"}}`). Messages of the companion's own errors name paths and
 * fixes, never a secret.
 */
export function describeCommandError(error: unknown): { code: string; message: string } {
  if (!(error instanceof Error)) return { code: "failed", message: "failed" };
  const code =
    error instanceof CommandError || error instanceof EnrollmentError
      ? error.code
      : error instanceof StateFileCorruptError
        ? "state_corrupt"
        : error instanceof StatePermissionError
          ? "state_unsafe"
          : /^invalid environment/.test(error.message)
            ? "invalid_environment"
            : "failed";
  return { code, message: error.message };
}
