import type { RequestContext } from "../e2e/request-context";
import { countFitting, LIST_BUDGET_BYTES } from "../devices/message-budget";

/**
 * Streams a job's results over the session's subscription mechanism: results are buffered and
 * sent in batches on each tick (nothing on a quiet tick); after the job ends, a final event
 * with `done: true` goes out and the subscription is ended. A batch holds at most `batch`
 * results and only as many as fit one E2E message (discovery results carry text a LAN host
 * chose); the rest wait for the next tick.
 */
export class JobStream<R, E> {
  readonly #pending: R[] = [];
  #done = false;
  #finished = false;
  readonly subscriptionId: string;

  constructor(
    private readonly ctx: RequestContext,
    type: string,
    private readonly batch: number,
    private readonly body: (results: R[], done: boolean) => E,
    intervalMs = 200,
  ) {
    this.subscriptionId = ctx.subscribe({ intervalMs, type, produce: () => this.#produce() });
  }

  push(result: R): void {
    if (!this.#finished) this.#pending.push(result);
  }

  /** Marks the job finished: the next ticks drain the buffer, then the last event and the end. */
  finish(): void {
    this.#done = true;
  }

  #produce(): E | undefined {
    if (this.#finished) return undefined;
    if (this.#pending.length === 0 && !this.#done) return undefined;
    const results = this.#pending.splice(0, countFitting(this.#pending.slice(0, this.batch), LIST_BUDGET_BYTES, true));
    const last = this.#done && this.#pending.length === 0;
    if (last) {
      this.#finished = true;
      // End the subscription right after this event is sent.
      queueMicrotask(() => this.ctx.cancelSubscription(this.subscriptionId));
    }
    return this.body(results, last);
  }
}
