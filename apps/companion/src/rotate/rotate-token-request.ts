import { RequestRefusedError } from "../e2e/dispatch-request";
import { rotateToken, type RotateOptions } from "./rotate-token";
import { RotationError, type RotationOutcome } from "./rotation-error";

const USER_MESSAGES: Record<RotationOutcome, string> = {
  busy: "Another token rotation is running on this host. Try again when it has finished.",
  refused: "The console refused the rotation. The current token still works.",
  unknown:
    "The console's answer was lost. The host keeps both keys until it knows which one the console holds; rotate again for a new line.",
  unsettled:
    "An earlier rotation is unconfirmed and the console could not say which key it holds. Nothing was changed; try again.",
};

/**
 * `token.rotate` for the E2E dispatcher: {@link rotateToken}, with its failures answered as a
 * typed `unavailable` error whose user-safe sentence says what happened (a second rotation while
 * one runs gets "another token rotation is running").
 */
export async function rotateTokenRequest(options: RotateOptions): Promise<string> {
  try {
    return await rotateToken(options);
  } catch (error) {
    if (error instanceof RotationError) throw new RequestRefusedError("unavailable", USER_MESSAGES[error.outcome]);
    throw error;
  }
}
