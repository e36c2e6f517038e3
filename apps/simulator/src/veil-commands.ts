/** Commands a device obeys on Veil's channel, each answered by a command_result. */
import type { SimContext } from "./context";
import type { TDeviceDownMessage } from "@veil/protocol";
import { TerminalSession } from "./terminal";
import type { VeilConnector } from "./veil-connector";

/** Runs one command message and sends its result. */
export function handleCommand(
  ctx: SimContext,
  conn: VeilConnector,
  msg: Extract<TDeviceDownMessage, { type: "command" }>,
): void {
  ctx.stats.commands++;
  const { device } = conn;
  const ok = (output?: string): void =>
    conn.send({ type: "command_result", id: msg.id, ok: true, ...(output !== undefined ? { output } : {}) });
  const c = msg.command;
  switch (c.name) {
    case "reboot":
      ok();
      // Let the result leave before the socket drops.
      ctx.schedule(() => conn.reboot(), 10);
      return;
    case "locate":
      device.locating = c.enabled;
      return ok();
    case "rename":
      device.hostname = c.hostname;
      return ok();
    case "set-interval":
      device.veil.intervalSec = c.seconds;
      return ok();
    case "terminal-open": {
      if (conn.terminals.size >= 4) {
        conn.send({
          type: "command_result",
          id: msg.id,
          ok: false,
          error: { code: "busy", message: "too many terminal sessions" },
        });
        return;
      }
      ok();
      conn.openTerminal(new TerminalSession(device, c.sessionId, c.cols, c.rows));
      return;
    }
    case "terminal-resize": {
      const t = conn.terminals.get(c.sessionId);
      if (!t) {
        conn.send({
          type: "command_result",
          id: msg.id,
          ok: false,
          error: { code: "invalid_argument", message: "no such terminal session" },
        });
        return;
      }
      t.shell.resize(c.cols, c.rows);
      return ok();
    }
    case "terminal-close":
      conn.closeTerminal(c.sessionId);
      return ok();
  }
}
