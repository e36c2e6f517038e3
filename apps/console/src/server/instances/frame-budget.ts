/**
 * What the relay lets one sender push through the console: token buckets on frames and on bytes,
 * per socket and, for browsers, per account across all of that account's sockets on this node.
 *
 * Why token buckets with a large rate (not a small fixed window): the console does no
 * cryptography per frame, so a relayed frame costs what socket.io costs (~0.1 ms of CPU). A small
 * cap (the old 200 frames/s per browser socket) protected nothing that mattered and held one
 * browser tab to a ninth of what the relay can carry; a refused frame also leaves a gap in the
 * Noise nonce sequence and the companion ends the session, so a budget that a legitimate tab
 * meets in a burst is a bug. The buckets below let one session run at the relay's full speed
 * (docs/PERFORMANCE.md, "Relay round trips") while a flooding socket is refused with
 * `rate_limited` after its burst, and an account cannot multiply its budget by opening more
 * sockets. Each check is two subtractions: cheap enough for every frame.
 */

/** A classic token bucket: `ratePerSec` on average, at most `burst` at once. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSec > 0) || !(burst >= 1)) throw new RangeError("token bucket needs a positive rate and burst ≥ 1");
    this.#tokens = burst;
    this.#at = now();
  }

  #refill(t: number): void {
    // A reading no later than the last adds nothing: a clock that steps back takes no tokens away.
    if (t <= this.#at) return;
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#at) / 1000) * this.ratePerSec);
    this.#at = t;
  }

  /** Whether `cost` tokens are there (nothing spent); `t`: the clock, if already read. */
  has(cost: number, t = this.now()): boolean {
    this.#refill(t);
    return this.#tokens >= cost;
  }

  /** Spends `cost` tokens (call after `has`). */
  spend(cost: number): void {
    this.#tokens -= cost;
  }

  /** Checks and spends in one step. */
  take(cost = 1, t = this.now()): boolean {
    if (!this.has(cost, t)) return false;
    this.spend(cost);
    return true;
  }
}

/** Rates and bursts of one sender class. */
export interface FrameLimit {
  readonly framesPerSec: number;
  readonly frameBurst: number;
  readonly bytesPerSec: number;
  readonly byteBurst: number;
}

/**
 * One browser socket: 40,000 frames/s with bursts of 8,000, and 16 MiB/s of frame text (a full
 * 64 KiB frame every 4 ms). The rule: one session runs at the relay's full speed, with room for a
 * faster machine. On the bench machine (2 cores) the bare relay carried ~4,100 round trips/s one
 * request at a time and 17,000/s with 20 in flight through one socket on 2026-11-24, when the
 * earlier 10,000 frames/s held Veil to 0.55× of it (docs/PERFORMANCE.md, "Session 17"). A frame
 * costs the console ~0.02 ms with relay batches, so one socket at this budget could hold most of
 * a core: the frame counts bound a runaway client and an account's many sockets, and the byte
 * budgets and session-open budgets (below) are what a flood of big frames or handshakes meets.
 */
export const BROWSER_SOCKET_LIMIT: FrameLimit = {
  framesPerSec: 40_000,
  frameBurst: 8_000,
  bytesPerSec: 16 * 1024 * 1024,
  byteBurst: 4 * 1024 * 1024,
};
/** All browser sockets of one account on this node together: twice one socket. */
export const BROWSER_ACCOUNT_LIMIT: FrameLimit = {
  framesPerSec: 80_000,
  frameBurst: 16_000,
  bytesPerSec: 32 * 1024 * 1024,
  byteBurst: 8 * 1024 * 1024,
};
/**
 * One companion socket (it answers every browser of its instance): two accounts' worth. What
 * it sends is charged first to the receiving browser socket and account for this instance (the
 * same limits as above, in the other direction), so one account pulling large answers spends
 * its own budget, not this one, and cannot get other accounts' frames dropped; and a companion
 * flooding an account spends only that account's budget for its own instance.
 */
export const COMPANION_SOCKET_LIMIT: FrameLimit = {
  framesPerSec: 160_000,
  frameBurst: 32_000,
  bytesPerSec: 128 * 1024 * 1024,
  byteBurst: 32 * 1024 * 1024,
};

/**
 * Session opens (handshake frames), per browser socket and per account: each costs the console
 * an authorization query before anything is relayed, and a refused one holds no session slot,
 * so they get a budget of their own — far above what pages open (one session per page).
 */
export const HANDSHAKE_SOCKET_LIMIT: FrameLimit = {
  framesPerSec: 20,
  frameBurst: 40,
  bytesPerSec: 16 * 1024 * 1024,
  byteBurst: 4 * 1024 * 1024,
};
export const HANDSHAKE_ACCOUNT_LIMIT: FrameLimit = {
  framesPerSec: 40,
  frameBurst: 80,
  bytesPerSec: 32 * 1024 * 1024,
  byteBurst: 8 * 1024 * 1024,
};

/** A frame count bucket and a byte bucket that are charged together. */
export class FrameBudget {
  readonly #frames: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #now: () => number;

  constructor(limit: FrameLimit, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#frames = new TokenBucket(limit.framesPerSec, limit.frameBurst, now);
    this.#bytes = new TokenBucket(limit.bytesPerSec, limit.byteBurst, now);
  }

  /** Whether a frame of `bytes` fits both buckets (nothing spent); `t`: the clock, if already read. */
  has(bytes: number, t = this.#now()): boolean {
    return this.#frames.has(1, t) && this.#bytes.has(bytes, t);
  }

  spend(bytes: number): void {
    this.#frames.spend(1);
    this.#bytes.spend(bytes);
  }

  /** Counts one frame of `bytes`; false (nothing spent) when over the budget. */
  take(bytes: number, t = this.#now()): boolean {
    if (!this.has(bytes, t)) return false;
    this.spend(bytes);
    return true;
  }
}

/** A socket's budget and its account's, for one scope. */
type BudgetPair = { own: FrameBudget; account: FrameBudget };

/** The part of a browser socket the budgets need. */
interface BudgetedSocket {
  readonly data: { userId: string };
  once(event: "disconnect", listener: () => void): unknown;
}

/**
 * How long (ms) a budget of `limit` takes to refill from empty: after that, a bucket that was
 * kept and a fresh one hold the same, so forgetting it then gives nothing away.
 */
export function refillMs(limit: FrameLimit): number {
  return Math.ceil(1000 * Math.max(limit.frameBurst / limit.framesPerSec, limit.byteBurst / limit.bytesPerSec));
}

/** An account's budget in one scope, the sockets charging it, and since when it has none. */
interface AccountEntry {
  readonly budget: FrameBudget;
  sockets: number;
  idleSince: number;
}

/**
 * Budgets of the browser sockets on this node: one per socket and one per account shared by
 * that account's sockets. A `scope` splits both: the relay charges frames a companion sends to
 * (socket, instance) and (account, instance), so one instance's companion flooding an account
 * spends only that pair's budget, never what the account needs for its other sites.
 *
 * An account's budget outlives its last socket by the time it takes to refill (`refillMs` of the
 * account limit: 2 s for session opens, a quarter of a second for frames), so disconnecting and
 * connecting again buys no fresh burst (a reviewer's loop of reconnects on one WebSocket had got
 * 400 authorization queries in 100 ms past a burst of 80). The map stays bounded without a timer:
 * budgets with no socket wait in `#idle` in the order they went idle, and those past their time
 * are dropped whenever a socket registers or goes (never per frame), so it holds the connected
 * accounts and those that left within that time, plus those that left before the last such event.
 */
export class BrowserBudgets {
  /** Per socket, its budgets by scope; `null` once it disconnected (it gets no budget again). */
  readonly #sockets = new WeakMap<BudgetedSocket, Map<string, BudgetPair> | null>();
  readonly #accounts = new Map<string, AccountEntry>();
  /** Keys of the account budgets with no socket, oldest `idleSince` first. */
  readonly #idle = new Map<string, AccountEntry>();
  /** How long an account budget with no socket is kept (ms). */
  readonly graceMs: number;

  constructor(
    private readonly socketLimit: FrameLimit = BROWSER_SOCKET_LIMIT,
    private readonly accountLimit: FrameLimit = BROWSER_ACCOUNT_LIMIT,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.graceMs = refillMs(accountLimit);
  }

  /**
   * Charges one frame of `bytes` to the socket and its account within `scope`; false (nothing
   * spent) when either is short, or when the socket already disconnected. `t`: the clock, if
   * already read.
   */
  take(socket: BudgetedSocket, bytes: number, t = this.now(), scope = ""): boolean {
    const scopes = this.#sockets.get(socket);
    if (scopes === null) return false;
    const { own, account } = scopes?.get(scope) ?? this.#register(socket, scopes, scope);
    if (!own.has(bytes, t) || !account.has(bytes, t)) return false;
    own.spend(bytes);
    account.spend(bytes);
    return true;
  }

  #register(socket: BudgetedSocket, known: Map<string, BudgetPair> | undefined, scope: string): BudgetPair {
    this.#expire(this.now());
    let scopes = known;
    if (scopes === undefined) {
      const held = new Map<string, BudgetPair>();
      scopes = held;
      this.#sockets.set(socket, held);
      const userId = socket.data.userId;
      socket.once("disconnect", () => {
        const t = this.now();
        for (const key of held.keys()) this.#release(`${userId}\n${key}`, t);
        this.#sockets.set(socket, null);
        this.#expire(t);
      });
    }
    const key = `${socket.data.userId}\n${scope}`;
    let account = this.#accounts.get(key);
    if (!account) {
      account = { budget: new FrameBudget(this.accountLimit, this.now), sockets: 0, idleSince: 0 };
      this.#accounts.set(key, account);
    }
    // Back within its grace time: the budget it left with, not a fresh one.
    if (account.sockets === 0) this.#idle.delete(key);
    account.sockets += 1;
    const pair = { own: new FrameBudget(this.socketLimit, this.now), account: account.budget };
    scopes.set(scope, pair);
    return pair;
  }

  #release(key: string, t: number): void {
    const account = this.#accounts.get(key);
    if (account === undefined) return;
    account.sockets -= 1;
    if (account.sockets > 0) return;
    // Appended, so `#idle` stays in `idleSince` order (it was not there: a socket held it).
    account.idleSince = t;
    this.#idle.set(key, account);
  }

  /** Drops the account budgets that have had no socket for `graceMs` (oldest first). */
  #expire(t: number): void {
    for (const [key, account] of this.#idle) {
      if (t - account.idleSince < this.graceMs) return;
      this.#idle.delete(key);
      this.#accounts.delete(key);
    }
  }

  /** Account budgets (per scope) kept: those with a socket and those within their grace time (tests). */
  get accounts(): number {
    this.#expire(this.now());
    return this.#accounts.size;
  }
}

/** E2E sessions one browser socket may have open at once. */
export const MAX_SESSIONS_PER_BROWSER_SOCKET = 16;
