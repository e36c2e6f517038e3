import type { BrowserRelaySocket, E2ESession } from "./relay-sockets";

/**
 * The E2E sessions browsers on this node opened, by session id and by browser socket. The first
 * session of a socket registers `onBrowserGone` for its disconnect, once.
 */
export class LocalSessions {
  readonly #sessions = new Map<string, E2ESession>();
  readonly #byBrowser = new Map<string, Set<string>>();
  /** Per browser socket, handshakes between its session cap check and their `add` (or refusal). */
  readonly #opening = new Map<string, number>();

  constructor(private readonly onBrowserGone: (browser: BrowserRelaySocket) => void) {}

  get(sessionId: string): E2ESession | undefined {
    return this.#sessions.get(sessionId);
  }

  has(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  /**
   * How many sessions the browser socket holds or is opening: a cap checked against this holds
   * for handshakes that wait for their authorization query together (one `e2e:frames` batch).
   */
  countOf(browser: BrowserRelaySocket): number {
    return (this.#byBrowser.get(browser.id)?.size ?? 0) + (this.#opening.get(browser.id) ?? 0);
  }

  /**
   * A handshake of `browser` passed the cap and now waits (its authorization query): it counts
   * as a session until the returned function runs, which the caller must call exactly once, in
   * the same turn as `add` when the session is opened, or when it is refused.
   */
  opening(browser: BrowserRelaySocket): () => void {
    const id = browser.id;
    this.#opening.set(id, (this.#opening.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.#opening.get(id) ?? 1) - 1;
      if (left > 0) this.#opening.set(id, left);
      else this.#opening.delete(id);
    };
  }

  add(session: E2ESession): void {
    this.#sessions.set(session.sessionId, session);
    let mine = this.#byBrowser.get(session.browser.id);
    if (!mine) {
      mine = new Set();
      this.#byBrowser.set(session.browser.id, mine);
      session.browser.once("disconnect", () => this.onBrowserGone(session.browser));
    }
    mine.add(session.sessionId);
  }

  remove(session: E2ESession): void {
    this.#sessions.delete(session.sessionId);
    this.#byBrowser.get(session.browser.id)?.delete(session.sessionId);
  }

  /** Forgets the browser socket and returns the sessions it held. */
  takeBrowser(browser: BrowserRelaySocket): E2ESession[] {
    const ids = this.#byBrowser.get(browser.id) ?? new Set<string>();
    this.#byBrowser.delete(browser.id);
    const taken: E2ESession[] = [];
    for (const id of ids) {
      const session = this.#sessions.get(id);
      if (!session) continue;
      this.#sessions.delete(id);
      taken.push(session);
    }
    return taken;
  }

  /** Forgets the instance's sessions and returns them. */
  takeInstance(instanceId: string): E2ESession[] {
    const taken = [...this.#sessions.values()].filter((session) => session.instanceId === instanceId);
    for (const session of taken) this.remove(session);
    return taken;
  }
}
