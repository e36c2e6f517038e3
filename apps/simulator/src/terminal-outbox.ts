/**
 * One terminal session's output on its way to the companion, as a device's pty would hold it.
 * With per-terminal flow control (the companion's `welcome` named a window) at most that many
 * bytes go out unacknowledged and the rest waits here for `terminal_ack`; without it everything
 * goes at once. Either way at most PUMP_IN_FLIGHT messages wait in the socket, and a long
 * command's next chunk is pulled only when the outbox is `ready` (its shell blocks meanwhile).
 */
import type { TDeviceUpMessage } from "@veil/protocol";

/** Messages of one terminal written to the socket and not yet flushed, before the shell blocks. */
const PUMP_IN_FLIGHT = 4;
/** Most bytes per `terminal_data` message (the schema's limit). */
const MAX_CHUNK_BYTES = 16_384;

/** Where the outbox sends (VeilConnector.send): `onFlushed` runs once the message is written out. */
export type SendMessage = (message: TDeviceUpMessage, onFlushed: () => void) => void;

interface Pending {
  bytes: Buffer;
  readonly eof: boolean;
  readonly then: (() => void) | undefined;
}

/** The output side of one terminal session. */
export class TerminalOutbox {
  /** Runs each time the outbox becomes `ready` again (the pump pulls the next chunk). */
  onReady: (() => void) | undefined;
  readonly #queue: Pending[] = [];
  #credit: number;
  #inFlight = 0;

  constructor(
    private readonly sessionId: string,
    /** Bytes that may be unacknowledged; undefined without flow control. */
    private readonly window: number | undefined,
    private readonly send: SendMessage,
  ) {
    this.#credit = window ?? Number.POSITIVE_INFINITY;
  }

  /** Nothing waits for credit and the socket takes more: a running command may print its next chunk. */
  get ready(): boolean {
    return this.#queue.length === 0 && this.#inFlight < PUMP_IN_FLIGHT;
  }

  /** Bytes waiting for credit. */
  get waiting(): number {
    return this.#queue.reduce((n, p) => n + p.bytes.length, 0);
  }

  /** Queues output; `eof` marks the shell's last words, `then` runs once they are written out. */
  write(text: string, options: { eof?: boolean; then?: () => void } = {}): void {
    this.#queue.push({ bytes: Buffer.from(text), eof: options.eof ?? false, then: options.then });
    this.#drain();
  }

  /** `terminal_ack`: the companion took `bytes` more (never more credit than the window). */
  ack(bytes: number): void {
    if (this.window === undefined) return;
    this.#credit = Math.min(this.window, this.#credit + bytes);
    this.#drain();
  }

  #drain(): void {
    for (let head = this.#queue[0]; head !== undefined; head = this.#queue[0]) {
      const n = Math.min(head.bytes.length, MAX_CHUNK_BYTES, this.#credit);
      // An empty write (a keystroke a running command ignored, a bare `eof`) needs no credit.
      if (n === 0 && head.bytes.length > 0) return;
      const data = head.bytes.subarray(0, n);
      head.bytes = head.bytes.subarray(n);
      const last = head.bytes.length === 0;
      if (last) this.#queue.shift();
      this.#credit -= n;
      this.#inFlight += 1;
      const message: TDeviceUpMessage = {
        type: "terminal_data",
        sessionId: this.sessionId,
        data: data.toString("base64url"),
        ...(last && head.eof ? { eof: true } : {}),
      };
      const then = last ? head.then : undefined;
      this.send(message, () => {
        this.#inFlight -= 1;
        then?.();
        if (this.ready) this.onReady?.();
      });
    }
  }
}
