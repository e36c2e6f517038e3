/**
 * A line-discipline terminal over the device shell: echoes keystrokes, handles backspace and
 * Ctrl-C, runs a line on Enter and prints the prompt. Bytes in, bytes out. Knows its window
 * size (`stty size` prints it; the Veil channel's `terminal-resize` changes it).
 */
import type { SimDevice } from "./device";
import { runShell } from "./shell";

/** One open terminal session on a device. */
export class TerminalSession {
  private line = "";

  constructor(
    private readonly device: SimDevice,
    readonly id: string,
    public cols = 80,
    public rows = 24,
  ) {}

  /** The window changed size. */
  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
  }

  /** The banner and first prompt. */
  open(): string {
    return `\r\nBusyBox v1.25.1 () built-in shell (ash)\r\n\r\n${this.prompt()}`;
  }

  private prompt(): string {
    return `${this.device.hostname}# `;
  }

  /** Feeds keystrokes; returns the bytes to send back and whether the session ended or the device reboots. */
  feed(input: string, now: number): { output: string; exit: boolean; reboot: boolean } {
    let out = "";
    for (const ch of input) {
      if (ch === "\r" || ch === "\n") {
        const r =
          this.line.trim() === "stty size"
            ? { output: `${this.rows} ${this.cols}`, ok: true }
            : runShell(this.device, this.line, now);
        this.line = "";
        out += `\r\n${r.output ? `${r.output.replaceAll("\n", "\r\n")}\r\n` : ""}`;
        if (r.exit || r.reboot) return { output: out, exit: true, reboot: r.reboot === true };
        out += this.prompt();
      } else if (ch === "\x7f" || ch === "\b") {
        if (this.line.length > 0) {
          this.line = this.line.slice(0, -1);
          out += "\b \b";
        }
      } else if (ch === "\x03") {
        this.line = "";
        out += `^C\r\n${this.prompt()}`;
      } else if (ch >= " " && this.line.length < 512) {
        this.line += ch;
        out += ch;
      }
    }
    return { output: out, exit: false, reboot: false };
  }
}
