/**
 * A line-discipline terminal over the device shell: echoes keystrokes, handles backspace and
 * Ctrl-C, runs a line on Enter and prints the prompt. Bytes in, bytes out. Knows its window
 * size (`stty size` prints it; the Veil channel's `terminal-resize` changes it).
 */
import type { SimDevice } from "./device";
import { runShell } from "./shell";

/** Most lines one `seq` prints. */
const MAX_SEQ_LINES = 10_000_000;
/** Output of a long command comes in chunks of about this many characters. */
const CHUNK_CHARS = 8192;

/** What one keystroke batch did: the bytes to send back, whether the session ended or the device reboots. */
export interface FeedResult {
  output: string;
  exit: boolean;
  reboot: boolean;
  /**
   * A command that prints more than one chunk (`seq`): the rest of its output, a chunk per call,
   * then undefined. The caller pulls it only as fast as the channel takes it, as a shell writing
   * to a pty blocks.
   */
  more?: () => string | undefined;
}

/** One open terminal session on a device. */
export class TerminalSession {
  private line = "";
  /** The rest of a long command's output (`seq`) while it runs. */
  private running: (() => string | undefined) | undefined;

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

  /** `seq first last`: the numbers a line each, a chunk per call, then the prompt, then undefined. */
  private counting(first: number, last: number): () => string | undefined {
    let n = first;
    return () => {
      if (n > last) {
        if (this.running === undefined) return undefined;
        this.running = undefined;
        return this.prompt();
      }
      let chunk = "";
      for (; n <= last && chunk.length < CHUNK_CHARS; n += 1) chunk += `${n}\r\n`;
      return chunk;
    };
  }

  /** The banner and first prompt. */
  open(): string {
    return `\r\nBusyBox v1.25.1 () built-in shell (ash)\r\n\r\n${this.prompt()}`;
  }

  private prompt(): string {
    return `${this.device.hostname}# `;
  }

  /** Feeds keystrokes; returns the bytes to send back and whether the session ended or the device reboots. */
  feed(input: string, now: number): FeedResult {
    if (this.running !== undefined) {
      // A running command takes no input; Ctrl-C stops it.
      if (!input.includes("\x03")) return { output: "", exit: false, reboot: false };
      this.running = undefined;
      return { output: `^C\r\n${this.prompt()}`, exit: false, reboot: false };
    }
    let out = "";
    for (const ch of input) {
      if (ch === "\r" || ch === "\n") {
        const seq = /^seq(?:\s+(\d{1,8}))?\s+(\d{1,8})$/.exec(this.line.trim());
        if (seq !== null) {
          this.line = "";
          const first = Number(seq[1] ?? 1);
          const last = Math.min(Number(seq[2]), first + MAX_SEQ_LINES - 1);
          const running = this.counting(first, last);
          this.running = running;
          return {
            output: `${out}\r\n`,
            exit: false,
            reboot: false,
            more: () => (this.running === running ? running() : undefined),
          };
        }
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
