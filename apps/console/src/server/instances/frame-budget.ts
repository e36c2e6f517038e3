/**
 * A per-socket frame budget: at most `perSecond` frames in any one-second window (fixed window,
 * cheap enough to run on every frame). Each socket owns one; nothing is shared between sockets.
 */
export class FrameBudget {
  #windowStart = 0;
  #count = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one frame; false when this socket is over its budget. */
  take(): boolean {
    const t = this.now();
    if (t - this.#windowStart >= 1000) {
      this.#windowStart = t;
      this.#count = 0;
    }
    this.#count += 1;
    return this.#count <= this.perSecond;
  }
}

/** Frames per second a browser socket may relay (all its sessions together). */
export const BROWSER_FRAMES_PER_SECOND = 200;
/** Frames per second a companion socket may relay (it answers many browsers). */
export const COMPANION_FRAMES_PER_SECOND = 2000;
/** E2E sessions one browser socket may have open at once. */
export const MAX_SESSIONS_PER_BROWSER_SOCKET = 16;
