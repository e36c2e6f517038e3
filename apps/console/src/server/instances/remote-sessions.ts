/**
 * The sessions browsers on other console nodes opened with the companions connected to this one
 * (the handshake's `node:frame` names the browser), and the relay of those companions' answers
 * back to them as `node:answer`: charged here, before the companion's own budget, to that browser
 * and its account for the instance, as companion-hub.ts charges its own browsers.
 */
import type { TRelayFrame, TSocketAck } from "@veil/protocol";
import type { BrowserBudgets } from "./frame-budget";
import type { NodeChannel, TNodeBrowser } from "./other-node-relay";
import { closeFrame, OK, refuse, type CompanionSocket } from "./relay-sockets";

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

/** One browser on another node: its account and its socket id there. */
const browserKey = (browser: TNodeBrowser): string => `${browser.accountId}\n${browser.browserId}`;

/**
 * A browser socket on another node, as the delivery budgets see a socket (frame-budget.ts
 * BrowserBudgets): charged per instance, and to its account together with the account's other
 * sockets. Its "disconnect" is when it has had no session here for REMOTE_BROWSER_GRACE_MS.
 */
export class RemoteBrowser {
  readonly data: { readonly userId: string };
  readonly key: string;
  sessions = 0;
  #gone: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** `who`: the browser as its node names it (its account and socket id there). */
  constructor(readonly who: TNodeBrowser) {
    this.key = browserKey(who);
    this.data = { userId: who.accountId };
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
  /** The same sessions by id alone: an id names one session on this node, whatever its instance. */
  readonly #byId = new Map<string, RemoteSession>();
  /** Per instance, how many sessions each account holds. */
  readonly #perAccount = new Map<string, Map<string, number>>();
  /** Browsers with a session here (or in their grace time), by account and socket id. */
  readonly #browsers = new Map<string, RemoteBrowser>();

  /**
   * Records a session `browser` opened through another node; the session it evicted, if the
   * instance had too many; null when another browser holds this session id, or holds it with
   * another instance (it stays theirs).
   */
  open(instanceId: string, sessionId: string, browser: TNodeBrowser): { evicted: RemoteSession | undefined } | null {
    const key = browserKey(browser);
    const known = this.#byId.get(sessionId);
    if (known !== undefined)
      return known.browser.key === key && known.instanceId === instanceId ? { evicted: undefined } : null;
    let sessions = this.#byInstance.get(instanceId);
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
      held = new RemoteBrowser(browser);
      this.#browsers.set(key, held);
    }
    held.opened();
    const session: RemoteSession = { sessionId, instanceId, browser: held };
    sessions.set(sessionId, session);
    this.#byId.set(sessionId, session);
    counts.set(browser.accountId, (counts.get(browser.accountId) ?? 0) + 1);
    return { evicted };
  }

  get(instanceId: string, sessionId: string): RemoteSession | undefined {
    const session = this.#byId.get(sessionId);
    return session?.instanceId === instanceId ? session : undefined;
  }

  /** Whether a browser on another node holds the session id here, with any instance. */
  has(sessionId: string): boolean {
    return this.#byId.has(sessionId);
  }

  /** The session, when `browser` is the one that opened it. */
  heldBy(instanceId: string, sessionId: string, browser: TNodeBrowser): RemoteSession | undefined {
    const session = this.get(instanceId, sessionId);
    return session?.browser.key === browserKey(browser) ? session : undefined;
  }

  /** Forgets a session (closed by either end); nothing when it is not known. */
  close(session: RemoteSession | undefined): void {
    if (session === undefined) return;
    const sessions = this.#byInstance.get(session.instanceId);
    if (sessions?.get(session.sessionId) !== session) return;
    sessions.delete(session.sessionId);
    this.#byId.delete(session.sessionId);
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

/** Remote sessions, and the answers to them, for one hub. */
export class RemoteSessionRelay {
  readonly #sessions = new RemoteSessions();

  constructor(
    private readonly channel: () => NodeChannel | undefined,
    /** The hub's delivery budgets (companion → browser, per receiving socket and account, per instance). */
    private readonly deliveryBudgets: BrowserBudgets,
    private readonly now: () => number,
  ) {}

  /**
   * A companion's frame for a session not opened on this node: to a browser on another node that
   * opened it with this instance, charged as the hub charges a local browser's (that browser and
   * its account for this instance first, then the companion), and in order (one node event
   * after another). A session known nowhere is `not_found`, as with one node.
   */
  answer(socket: CompanionSocket, frame: TRelayFrame, reply: (ack: TSocketAck) => void): true {
    const channel = this.channel();
    const remote = channel === undefined ? undefined : this.#sessions.get(frame.instanceId, frame.sessionId);
    const bytes = frame.frame.length;
    const now = this.now();
    if (remote !== undefined && !this.deliveryBudgets.take(remote.browser, bytes, now, frame.instanceId))
      return refuse(reply, "rate_limited");
    if (!socket.data.budget.take(bytes, now)) return refuse(reply, "rate_limited");
    if (remote === undefined || channel === undefined) return refuse(reply, "not_found");
    if (frame.kind === "close") this.#sessions.close(remote);
    channel.serverSideEmit("node:answer", frame, remote.browser.who);
    reply(OK);
    return true;
  }

  /**
   * A browser's frame through another node for `companion`, here: a handshake records who opened
   * the session, a close forgets it. False for a frame to drop: any frame not from the browser
   * that opened its session, and a handshake for a session id held here, by a browser here
   * (`heldHere`), by another browser, or with another instance; that browser is told `conflict`
   * (its node acknowledged the handshake, and would otherwise wait for an answer).
   */
  fromBrowser(frame: TRelayFrame, browser: TNodeBrowser, companion: CompanionSocket, heldHere: boolean) {
    if (frame.kind !== "handshake") {
      // Only the browser that opened the session may write to it or close it: a session id alone
      // (another account's, learnt somehow) buys nothing.
      const session = this.#sessions.heldBy(frame.instanceId, frame.sessionId, browser);
      if (session !== undefined && frame.kind === "close") this.#sessions.close(session);
      // A session this node never saw open (its companion came here from a node that died): the
      // browser is told, as the node that had it would have told it, instead of waiting.
      if (session === undefined && frame.kind === "transport")
        this.channel()?.serverSideEmit(
          "node:answer",
          closeFrame(frame.instanceId, frame.sessionId, "unavailable"),
          browser,
        );
      return session !== undefined;
    }
    const opened = heldHere ? null : this.#sessions.open(frame.instanceId, frame.sessionId, browser);
    if (opened === null) {
      this.channel()?.serverSideEmit("node:answer", closeFrame(frame.instanceId, frame.sessionId, "conflict"), browser);
      return false;
    }
    // Pushed out by a newer one (too many for the instance or the account): both ends are told.
    const evicted = opened.evicted;
    if (evicted !== undefined) {
      companion.data.outbox.push({
        instanceId: evicted.instanceId,
        sessionId: evicted.sessionId,
        kind: "close",
        frame: "",
      });
      this.channel()?.serverSideEmit(
        "node:answer",
        closeFrame(evicted.instanceId, evicted.sessionId, "unavailable"),
        evicted.browser.who,
      );
    }
    return true;
  }

  /** Whether a browser on another node holds this session id with a companion here (any instance). */
  holds(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  /** The instance's companion went or was revoked: its remote sessions' browsers are told why. */
  closeInstance(instanceId: string, reason: string): void {
    for (const remote of this.#sessions.closeInstance(instanceId))
      this.channel()?.serverSideEmit(
        "node:answer",
        closeFrame(instanceId, remote.sessionId, reason),
        remote.browser.who,
      );
  }
}
