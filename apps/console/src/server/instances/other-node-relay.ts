/**
 * What console nodes tell each other about companions (with REDIS_URL): server-side events on the
 * main port's /companion namespace, which the Redis adapter carries to every other node. Each
 * node applies them to the companion sockets it holds itself, on either port, so a companion on
 * a node's inform port (a socket.io server with no adapter of its own) is reached as well as one
 * on its main port, from every node, whether or not that node has an inform port. The node that
 * holds a companion also keeps the sessions browsers on other nodes opened with it
 * (RemoteSessions), so that it charges their answers as it charges its own browsers' ones.
 */
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { instances, type VeilDatabase } from "@veil/db";
import { VeilError, ZIdSchema, ZRelayFrameSchema, type TRelayFrame, type TSocketAck } from "@veil/protocol";

/** The events between nodes. Arguments come from another node through Redis: checked before use. */
export interface NodeEvents {
  /**
   * A browser's frame for an instance whose companion is connected to another node; a handshake
   * also names the browser (TNodeBrowser), which the companion's node charges for the answers.
   */
  "node:frame": (frame: unknown, browser?: unknown) => void;
  /** A companion's frame to a session a browser on another node opened (charged on the companion's node). */
  "node:answer": (frame: unknown) => void;
  /**
   * A companion connected on the sending node (this socket id) and its presence names it: a
   * socket of its instance that the database no longer names goes.
   */
  "node:companion": (instanceId: unknown, socketId: unknown) => void;
  /** The instance was revoked: every node ends its companion and its browser sessions. */
  "node:revoke": (instanceId: unknown) => void;
}

/** The part of the main port's /companion namespace the node channel uses. */
export interface NodeChannel {
  serverSideEmit<Ev extends keyof NodeEvents>(event: Ev, ...args: Parameters<NodeEvents[Ev]>): boolean;
  on<Ev extends keyof NodeEvents>(event: Ev, listener: NodeEvents[Ev]): unknown;
}

/** What a node does with the events other nodes send. */
export interface NodeEventHandlers {
  frame(frame: TRelayFrame, browser: TNodeBrowser | undefined): void;
  answer(frame: TRelayFrame): void;
  companion(instanceId: string, socketId: string): void;
  revoke(instanceId: string): void;
}

const ZSocketIdSchema = z.string().min(1).max(64);
/** The browser socket behind a session opened through another node: its account, and its socket id there. */
export const ZNodeBrowserSchema = z.strictObject({ accountId: ZIdSchema, browserId: ZSocketIdSchema });
export type TNodeBrowser = z.infer<typeof ZNodeBrowserSchema>;

/**
 * Listens on `channel` for other nodes' events: malformed ones are logged and dropped, and a
 * handler that throws is logged (it runs inside the adapter's message callback, where an
 * exception would go unhandled).
 */
export function listenToOtherNodes(channel: NodeChannel, on: NodeEventHandlers, log: (line: string) => void): void {
  const dropped = (event: string): void => log(`relay: a malformed ${event} from another node was dropped`);
  const guarded =
    <A extends unknown[]>(event: string, handle: (...args: A) => void) =>
    (...args: A): void => {
      try {
        handle(...args);
      } catch (error) {
        log(`relay: ${event} from another node failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
  channel.on(
    "node:frame",
    guarded("node:frame", (frame: unknown, browser?: unknown) => {
      const parsed = ZRelayFrameSchema.safeParse(frame);
      const from = browser === undefined ? undefined : ZNodeBrowserSchema.safeParse(browser);
      if (parsed.success && (from === undefined || from.success)) on.frame(parsed.data, from?.data);
      else dropped("node:frame");
    }),
  );
  channel.on(
    "node:answer",
    guarded("node:answer", (frame: unknown) => {
      const parsed = ZRelayFrameSchema.safeParse(frame);
      if (parsed.success) on.answer(parsed.data);
      else dropped("node:answer");
    }),
  );
  channel.on(
    "node:companion",
    guarded("node:companion", (instanceId: unknown, socketId: unknown) => {
      const id = ZIdSchema.safeParse(instanceId);
      const socket = ZSocketIdSchema.safeParse(socketId);
      if (id.success && socket.success) on.companion(id.data, socket.data);
      else dropped("node:companion");
    }),
  );
  channel.on(
    "node:revoke",
    guarded("node:revoke", (instanceId: unknown) => {
      const id = ZIdSchema.safeParse(instanceId);
      if (id.success) on.revoke(id.data);
      else dropped("node:revoke");
    }),
  );
}

/** How long "its companion is online on another node" is trusted before the database is asked again. */
const ONLINE_ELSEWHERE_MS = 1000;
const OK: TSocketAck = Object.freeze({ ok: true });
const UNAVAILABLE: TSocketAck = Object.freeze({ ok: false, ...new VeilError("unavailable").toBody() });

/**
 * Frames for an instance whose companion is connected to another node (companion-hub.ts sends
 * here when it has no socket for the instance, and while frames sent here before are still
 * waiting). They leave in the order they came, each after the one before (a reordered frame
 * would end its Noise session), when the database says the instance is online; it is asked at
 * most once a second per instance while it answers "online". A frame whose companion has
 * connected to this node meanwhile goes to it (`here`): another node would never see it. Without
 * a node channel (one node) there is no other node: `unavailable`.
 */
export class OtherNodeRelay {
  /** Per instance: the last frame sent there, which the next one waits for. */
  readonly #queues = new Map<string, Promise<void>>();
  /** Per instance: until when "online on another node" holds without asking the database again. */
  readonly #onlineUntil = new Map<string, number>();

  constructor(
    private readonly db: VeilDatabase,
    private readonly channel: () => NodeChannel | undefined,
    private readonly now: () => number,
    /** Gives `frame` to its instance's companion if that is connected to this node; whether it did. */
    private readonly here: (frame: TRelayFrame) => boolean,
  ) {}

  /**
   * Relays `frame` to the node serving its instance (`browser`: on a handshake, who opened the
   * session); `unavailable` when none is online.
   */
  send(frame: TRelayFrame, browser?: TNodeBrowser): Promise<TSocketAck> {
    const id = frame.instanceId;
    const sent = (this.#queues.get(id) ?? Promise.resolve()).then(() => this.#emit(frame, browser));
    const tail = sent.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return sent;
  }

  /** Whether frames for the instance are still waiting here: a later one must queue behind them. */
  waiting(instanceId: string): boolean {
    return this.#queues.has(instanceId);
  }

  /** Forgets that the instance was online elsewhere (it was just revoked). */
  forget(instanceId: string): void {
    this.#onlineUntil.delete(instanceId);
  }

  async #emit(frame: TRelayFrame, browser: TNodeBrowser | undefined): Promise<TSocketAck> {
    if (this.here(frame)) return OK;
    const channel = this.channel();
    if (channel === undefined) return UNAVAILABLE;
    const id = frame.instanceId;
    const now = this.now();
    if ((this.#onlineUntil.get(id) ?? Number.NEGATIVE_INFINITY) <= now) {
      this.#onlineUntil.delete(id);
      const [row] = await this.db
        .select({ online: instances.online })
        .from(instances)
        .where(and(eq(instances.id, id), eq(instances.online, true)));
      // Online, perhaps on this very node now: its socket connected while the database answered.
      if (this.here(frame)) return OK;
      if (!row) return UNAVAILABLE;
      this.#onlineUntil.set(id, now + ONLINE_ELSEWHERE_MS);
    }
    if (browser === undefined) channel.serverSideEmit("node:frame", frame);
    else channel.serverSideEmit("node:frame", frame, browser);
    return OK;
  }
}

/**
 * Sessions a browser on another node opened with an instance whose companion is connected here,
 * per instance, at most MAX_REMOTE_SESSIONS_PER_INSTANCE of them, and at most
 * MAX_REMOTE_SESSIONS_PER_ACCOUNT of one account's (a node that died never closes its sessions,
 * and a close the delivery budget refused leaves one behind). Past an account's cap its own
 * oldest session goes; past the instance's, the oldest of the account holding the most, so one
 * account cannot push another's out. They go when the browser's node relays a `close` (its
 * browser closed it or went away), when the companion closes them, and with the companion.
 */
export const MAX_REMOTE_SESSIONS_PER_INSTANCE = 4096;
/** See MAX_REMOTE_SESSIONS_PER_INSTANCE (the companion itself opens at most 32 per account). */
export const MAX_REMOTE_SESSIONS_PER_ACCOUNT = 64;

/**
 * How long the budgets of a browser on another node outlive its last session here: past the
 * time the browser budgets take to refill from empty (frame-budget.ts: a quarter of a second),
 * so closing and reopening sessions buys no fresh burst, and dropping them loses nothing.
 */
export const REMOTE_BROWSER_GRACE_MS = 1000;

/**
 * A browser socket on another node, as the delivery budgets see a socket (frame-budget.ts
 * BrowserBudgets): charged per instance, and to its account together with the account's other
 * sockets. Its "disconnect" is when it has had no session here for REMOTE_BROWSER_GRACE_MS.
 */
export class RemoteBrowser {
  readonly data: { readonly userId: string };
  sessions = 0;
  #gone: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    accountId: string,
  ) {
    this.data = { userId: accountId };
  }

  once(_event: "disconnect", listener: () => void): void {
    this.#gone = listener;
  }

  /** A session here opened. */
  opened(): void {
    this.sessions += 1;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** A session here closed; `release` runs when none opened again within the grace time. */
  closed(release: (browser: RemoteBrowser) => void): void {
    this.sessions -= 1;
    if (this.sessions > 0) return;
    this.#timer = setTimeout(() => release(this), REMOTE_BROWSER_GRACE_MS);
    this.#timer.unref();
  }

  /** Its budgets are freed (BrowserBudgets' disconnect listener). */
  release(): void {
    this.#gone?.();
  }
}

export interface RemoteSession {
  readonly sessionId: string;
  readonly instanceId: string;
  readonly browser: RemoteBrowser;
}

/** The oldest of `sessions` (insertion order) that `accountId` holds. */
function oldestOf(sessions: Map<string, RemoteSession>, accountId: string | undefined): RemoteSession | undefined {
  for (const session of sessions.values()) if (session.browser.data.userId === accountId) return session;
  return undefined;
}

/** The account holding the most sessions. */
function largest(counts: Map<string, number>): string | undefined {
  let top: string | undefined;
  let most = 0;
  for (const [account, n] of counts)
    if (n > most) {
      top = account;
      most = n;
    }
  return top;
}

/** See MAX_REMOTE_SESSIONS_PER_INSTANCE. */
export class RemoteSessions {
  readonly #byInstance = new Map<string, Map<string, RemoteSession>>();
  /** Per instance, how many sessions each account holds. */
  readonly #perAccount = new Map<string, Map<string, number>>();
  /** Browsers with a session here (or in their grace time), by account and socket id. */
  readonly #browsers = new Map<string, RemoteBrowser>();

  /**
   * Records a session `browser` opened through another node; the session it evicted, if the
   * instance had too many; null when another browser holds this session id (it stays theirs).
   */
  open(instanceId: string, sessionId: string, browser: TNodeBrowser): { evicted: RemoteSession | undefined } | null {
    let sessions = this.#byInstance.get(instanceId);
    const key = `${browser.accountId}\n${browser.browserId}`;
    const known = sessions?.get(sessionId);
    if (known !== undefined) return known.browser.key === key ? { evicted: undefined } : null;
    if (sessions === undefined) {
      sessions = new Map();
      this.#byInstance.set(instanceId, sessions);
    }
    let counts = this.#perAccount.get(instanceId);
    if (counts === undefined) {
      counts = new Map();
      this.#perAccount.set(instanceId, counts);
    }
    let evicted: RemoteSession | undefined;
    if ((counts.get(browser.accountId) ?? 0) >= MAX_REMOTE_SESSIONS_PER_ACCOUNT)
      evicted = oldestOf(sessions, browser.accountId);
    else if (sessions.size >= MAX_REMOTE_SESSIONS_PER_INSTANCE) evicted = oldestOf(sessions, largest(counts));
    if (evicted !== undefined) this.close(evicted);
    let held = this.#browsers.get(key);
    if (held === undefined) {
      held = new RemoteBrowser(key, browser.accountId);
      this.#browsers.set(key, held);
    }
    held.opened();
    sessions.set(sessionId, { sessionId, instanceId, browser: held });
    counts.set(browser.accountId, (counts.get(browser.accountId) ?? 0) + 1);
    return { evicted };
  }

  get(instanceId: string, sessionId: string): RemoteSession | undefined {
    return this.#byInstance.get(instanceId)?.get(sessionId);
  }

  /** Forgets a session (closed by either end); nothing when it is not known. */
  close(session: RemoteSession | undefined): void {
    if (session === undefined) return;
    const sessions = this.#byInstance.get(session.instanceId);
    if (sessions?.get(session.sessionId) !== session) return;
    sessions.delete(session.sessionId);
    if (sessions.size === 0) this.#byInstance.delete(session.instanceId);
    const counts = this.#perAccount.get(session.instanceId);
    const account = session.browser.data.userId;
    const left = (counts?.get(account) ?? 1) - 1;
    if (left > 0) counts?.set(account, left);
    else counts?.delete(account);
    if (counts?.size === 0) this.#perAccount.delete(session.instanceId);
    session.browser.closed(this.#release);
  }

  /** Forgets every session of the instance (its companion went) and returns them. */
  closeInstance(instanceId: string): RemoteSession[] {
    const sessions = [...(this.#byInstance.get(instanceId)?.values() ?? [])];
    for (const session of sessions) this.close(session);
    return sessions;
  }

  /** Sessions and browsers held (tests). */
  get size(): { sessions: number; browsers: number } {
    let sessions = 0;
    for (const held of this.#byInstance.values()) sessions += held.size;
    return { sessions, browsers: this.#browsers.size };
  }

  readonly #release = (browser: RemoteBrowser): void => {
    if (browser.sessions > 0 || this.#browsers.get(browser.key) !== browser) return;
    this.#browsers.delete(browser.key);
    browser.release();
  };
}
