import {
  ZTerminalCloseBodySchema,
  ZTerminalInputBodySchema,
  ZTerminalOpenBodySchema,
  ZTerminalResizeBodySchema,
  type TERMINAL_REQUEST_CATALOGUE,
} from "../protocol";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { RequestHandler } from "../e2e/request-context";
import type { TerminalHub } from "./terminal-hub";

/**
 * The four terminal requests. Bodies arrive parsed by the dispatcher (role: operator or above,
 * checked against the signed grant); they are parsed again here so a handler never trusts a
 * caller. Open and close are distinct requests, so the companion's request log shows each.
 */
export function createTerminalHandlers(
  hub: () => TerminalHub | undefined,
): Record<keyof typeof TERMINAL_REQUEST_CATALOGUE, RequestHandler> {
  const need = (): TerminalHub => {
    const h = hub();
    if (h === undefined) throw new RequestRefusedError("unavailable", "This companion runs no device terminals.");
    return h;
  };
  return {
    "terminal.open": (body, ctx) => need().open(ZTerminalOpenBodySchema.parse(body), ctx),
    "terminal.input": (body, ctx) => {
      const b = ZTerminalInputBodySchema.parse(body);
      return need().input(b.subscriptionId, b.data, ctx);
    },
    "terminal.resize": (body, ctx) => {
      const b = ZTerminalResizeBodySchema.parse(body);
      return need().resize(b.subscriptionId, b.cols, b.rows, ctx);
    },
    "terminal.close": (body, ctx) => need().close(ZTerminalCloseBodySchema.parse(body).subscriptionId, ctx),
  };
}
