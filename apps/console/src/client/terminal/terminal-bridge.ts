/**
 * The browser half of a device terminal, without React or xterm: opens `terminal.open` as a
 * live stream on the E2E channel, batches keystrokes per animation frame into `terminal.input`
 * requests (UTF-8, base64url, at most MAX_TERMINAL_INPUT_BYTES each, one request in flight so
 * keystrokes keep their order and never flood the companion's per-session queue), forwards
 * resizes, and reports output bytes and the close reason. Every event was parsed with
 * ZTerminalOutputEventSchema by the channel before it gets here.
 */
import { fromBase64Url, toBase64Url, utf8 } from "@veil/crypto";
import {
  MAX_TERMINAL_INPUT_BYTES,
  ZTerminalOutputEventSchema,
  type TTerminalCloseReason,
  type TTerminalOutputEvent,
} from "@veil/protocol";
import type { InstanceChannel, Stream } from "../instances/e2e-channel";

/** What the page shows about the terminal. */
export type TerminalStatus =
  | { state: "opening" }
  | { state: "open"; cols: number; rows: number }
  | { state: "closed"; reason: TTerminalCloseReason | "stream_ended"; bytesIn: number; bytesOut: number }
  | { state: "failed"; message: string };

/** Callbacks of a {@link TerminalBridge}. */
export interface BridgeHandlers {
  /**
   * Device bytes to draw; a promise that settles once the emulator took them in (xterm's write
   * callback), so the stream is acknowledged only then (channel-streams.ts flow control).
   */
  output(bytes: Uint8Array): unknown;
  status(status: TerminalStatus): void;
}

/** Schedules work for the next frame; tests and Node pass a timer. */
export type FrameScheduler = (fn: () => void) => void;

export class TerminalBridge {
  #stream: Stream | null = null;
  #pending: Uint8Array = new Uint8Array(0);
  #scheduled = false;
  #inFlight = false;
  #closed = false;
  #bytesIn = 0;
  #bytesOut = 0;
  #resizeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly channel: InstanceChannel,
    private readonly handlers: BridgeHandlers,
    private readonly nextFrame: FrameScheduler = (fn) => void requestAnimationFrame(fn),
  ) {}

  /** Opens the shell on `mac` with the terminal's current size. */
  async open(mac: string, cols: number, rows: number): Promise<void> {
    this.handlers.status({ state: "opening" });
    try {
      this.#stream = await this.channel.subscribe(
        "terminal.open",
        { mac, cols, rows },
        "terminal.output",
        ZTerminalOutputEventSchema,
        { onEvent: (e) => this.#onEvent(e), onEnd: () => this.#onEnd() },
      );
    } catch (error) {
      this.#closed = true;
      this.handlers.status({ state: "failed", message: error instanceof Error ? error.message : "Could not open." });
      return;
    }
    if (this.#closed) return;
    this.handlers.status({ state: "open", cols, rows });
  }

  /** Keystrokes from the terminal emulator (xterm's onData). */
  type(data: string): void {
    if (this.#closed) return;
    const more = utf8(data);
    const joined = new Uint8Array(this.#pending.length + more.length);
    joined.set(this.#pending);
    joined.set(more, this.#pending.length);
    this.#pending = joined;
    if (!this.#scheduled && !this.#inFlight) {
      this.#scheduled = true;
      this.nextFrame(() => this.#flush());
    }
  }

  /** The emulator changed size: tell the device after the size settles. */
  resize(cols: number, rows: number): void {
    if (this.#closed || !this.#stream) return;
    clearTimeout(this.#resizeTimer);
    this.#resizeTimer = setTimeout(() => {
      const id = this.#stream?.subscriptionId;
      if (!id || this.#closed) return;
      this.channel
        .request("terminal.resize", { subscriptionId: id, cols, rows })
        .then(() => {
          if (!this.#closed) this.handlers.status({ state: "open", cols, rows });
        })
        .catch(() => undefined);
    }, 200);
  }

  /** Asks the companion to close the shell; the last event reports why and the byte counts. */
  async close(): Promise<void> {
    const id = this.#stream?.subscriptionId;
    if (!id || this.#closed) return;
    try {
      await this.channel.request("terminal.close", { subscriptionId: id });
    } catch {
      // The session may already be gone; stop listening either way.
      this.dispose();
    }
  }

  /** Stops listening (page left); the companion closes the shell when the session ends. */
  dispose(): void {
    clearTimeout(this.#resizeTimer);
    if (this.#closed) return;
    this.#closed = true;
    this.#stream?.cancel();
  }

  #flush(): void {
    this.#scheduled = false;
    const id = this.#stream?.subscriptionId;
    if (this.#closed || !id || this.#pending.length === 0) return;
    // Cut on the byte cap; a cut inside a UTF-8 sequence is fine (the device sees one byte stream).
    const chunk = this.#pending.subarray(0, MAX_TERMINAL_INPUT_BYTES);
    this.#pending = this.#pending.slice(chunk.length);
    this.#inFlight = true;
    this.channel
      .request("terminal.input", { subscriptionId: id, data: toBase64Url(chunk) })
      .then((r) => {
        this.#bytesIn += r.accepted;
      })
      .catch((error: unknown) => {
        if (!this.#closed)
          this.handlers.status({ state: "failed", message: error instanceof Error ? error.message : "Input failed." });
      })
      .finally(() => {
        this.#inFlight = false;
        if (this.#pending.length > 0 && !this.#scheduled) {
          this.#scheduled = true;
          this.nextFrame(() => this.#flush());
        }
      });
  }

  #onEvent(e: TTerminalOutputEvent): unknown {
    if (e.kind === "data") {
      const bytes = fromBase64Url(e.data);
      this.#bytesOut += bytes.length;
      return this.handlers.output(bytes);
    }
    this.#closed = true;
    this.handlers.status({ state: "closed", reason: e.reason, bytesIn: e.bytesIn, bytesOut: e.bytesOut });
  }

  #onEnd(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.handlers.status({ state: "closed", reason: "stream_ended", bytesIn: this.#bytesIn, bytesOut: this.#bytesOut });
  }
}
