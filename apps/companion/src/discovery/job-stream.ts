import type { TDeviceJobEvent, TDeviceJobProgress } from "../protocol";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { EventStream, RequestContext } from "../e2e/request-context";
import { countFitting, LIST_BUDGET_BYTES } from "../devices/message-budget";

/**
 * Streams a job's results over the session: results are buffered and sent in batches on each
 * tick (nothing on a quiet tick); after the job ends, a final event with `done: true` goes out
 * and the stream is ended. A batch holds at most `batch` results and only as many as fit one
 * E2E message (discovery results carry text a LAN host chose); the rest wait for the next tick.
 *
 * `signal` aborts when the stream stops before the job said it was done: the browser cancelled
 * it, or its session closed (the browser left, the grant expired or was revoked). A job that
 * nobody can see any more must stop touching devices: adoption and generation check it before
 * every login and every change. Sessions give push streams (`ctx.stream`) a stop callback; a
 * context without them (hand-made in tests) falls back to a timed subscription, whose signal
 * never aborts.
 */
export class JobStream<R, E> {
  readonly #pending: R[] = [];
  readonly #abort = new AbortController();
  #done = false;
  #finished = false;
  #stream: EventStream | undefined;
  #timer: unknown;
  readonly subscriptionId: string;

  constructor(
    private readonly ctx: RequestContext,
    type: string,
    private readonly batch: number,
    private readonly body: (results: R[], done: boolean) => E,
    private readonly clock: Clock,
    intervalMs = 200,
  ) {
    if (ctx.stream === undefined) {
      this.subscriptionId = ctx.subscribe({ intervalMs, type, produce: () => this.#produce() });
      return;
    }
    const stream = ctx.stream({ type, onStop: () => this.#stopped() });
    this.#stream = stream;
    this.subscriptionId = stream.id;
    this.#timer = clock.setInterval(() => this.#tick(stream), intervalMs);
  }

  /** Aborted once nobody can receive this job's results any more. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  push(result: R): void {
    if (!this.#finished) this.#pending.push(result);
  }

  /** Marks the job finished: the next ticks drain the buffer, then the last event and the end. */
  finish(): void {
    this.#done = true;
  }

  #tick(stream: EventStream): void {
    const event = this.#produce();
    if (event === undefined) return;
    stream.push(event);
    if (this.#finished) stream.end();
  }

  /** The push stream stopped (its last event went out, or anything else stopped it). */
  #stopped(): void {
    if (this.#timer !== undefined) this.clock.clearInterval(this.#timer);
    this.#timer = undefined;
    const early = !this.#finished;
    this.#finished = true;
    this.#pending.length = 0;
    if (early) this.#abort.abort();
  }

  #produce(): E | undefined {
    if (this.#finished) return undefined;
    if (this.#pending.length === 0 && !this.#done) return undefined;
    const results = this.#pending.splice(0, countFitting(this.#pending.slice(0, this.batch), LIST_BUDGET_BYTES, true));
    const last = this.#done && this.#pending.length === 0;
    if (last) {
      this.#finished = true;
      // A timed subscription is ended right after this event is sent (a push stream by #tick).
      if (this.#stream === undefined) queueMicrotask(() => this.ctx.cancelSubscription(this.subscriptionId));
    }
    return this.body(results, last);
  }
}

/**
 * Starts an adoption or generation job in the background and answers its request: per-device
 * rows go out in batches of 200, each event with the running counts. `run` gets the function
 * that records a row and the stream's signal, which aborts once nobody can see the job (it must
 * stop touching devices then); a job that throws is logged as `failure` and still ends its
 * stream.
 */
export function startDeviceJob(
  ctx: RequestContext,
  site: { clock: Clock; logger: Logger },
  job: { type: string; total: number; failure: string },
  run: (push: (p: TDeviceJobProgress) => void, signal: AbortSignal) => Promise<unknown>,
): { subscriptionId: string; total: number } {
  const counts = { done: 0, failed: 0, skipped: 0, total: job.total };
  const stream = new JobStream<TDeviceJobProgress, TDeviceJobEvent>(
    ctx,
    job.type,
    200,
    (results, done) => ({ results, done, counts: { ...counts } }),
    site.clock,
  );
  const push = (p: TDeviceJobProgress): void => {
    counts[p.status]++;
    stream.push(p);
  };
  void run(push, stream.signal)
    .catch((error: unknown) =>
      site.logger.error(job.failure, { error: error instanceof Error ? error.name : "unknown" }),
    )
    .finally(() => stream.finish());
  return { subscriptionId: stream.subscriptionId, total: job.total };
}
