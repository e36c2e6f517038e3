import type { HoldRule, TRelayFrame, TSocketAck } from "@veil/protocol";
import type { ConsoleServices } from "../services";
import {
  BrowserBudgets,
  HANDSHAKE_ACCOUNT_LIMIT,
  HANDSHAKE_SOCKET_LIMIT,
  MAX_SESSIONS_PER_BROWSER_SOCKET,
} from "./frame-budget";
import { CompanionSockets } from "./companion-sockets";
import { mayAddressInstance } from "./instance-store";
import { LocalSessions } from "./local-sessions";
import { listenToOtherNodes, OtherNodeRelay, type TNodeBrowser } from "./other-node-relay";
import { PresenceSweep } from "./presence-sweep";
import {
  closeFrame,
  fail,
  OK,
  refuse,
  type BrowserRelaySocket,
  type CompanionNamespace,
  type CompanionSocket,
  type E2ESession,
} from "./relay-sockets";
import { RemoteSessionRelay } from "./remote-sessions";
import { tooSlowFor } from "../socket/write-backlog";

/**
 * The relay between browsers and companions on this node. It knows which companion socket
 * serves which instance (one live socket per instance: a new one replaces the old) and which
 * browser socket opened which E2E session; it checks that a browser may address an instance,
 * caps and rate-limits frames, and never looks inside one. With several nodes, frames, new
 * connections and revocations reach companions connected to other nodes as server-side events
 * (other-node-relay.ts), and companions' frames reach browsers on other nodes as `node:answer`
 * events, charged here first to the receiving browser and its account as a local browser's
 * would be (the handshake's `node:frame` said who opened the session); the Redis adapter
 * carries both.
 */
export class CompanionHub {
  /** The main port's /companion namespace when there are several nodes: events between nodes go through it. */
  #channel: CompanionNamespace | undefined;
  readonly #companions: CompanionSockets;
  readonly #sessions = new LocalSessions((browser) => this.#browserGone(browser));
  /** Frames for instances whose companion is connected to another node. */
  readonly #otherNodes: OtherNodeRelay;
  /** Sessions browsers on other nodes opened with the companions here, and the answers to them. */
  readonly #remote: RemoteSessionRelay;
  readonly #browserBudgets: BrowserBudgets;
  /** Companion → browser frames, charged to the receiving socket and its account, per instance. */
  readonly #deliveryBudgets: BrowserBudgets;
  /** Session opens: each costs an authorization query, refused ones hold nothing. */
  readonly #handshakeBudgets: BrowserBudgets;
  /** Revocations made through other nodes, and presence heartbeats (presence-sweep.ts). */
  readonly #sweep: PresenceSweep;
  /** The budgets' clock, read once per relayed frame. */
  readonly #now: () => number;

  constructor(private readonly services: ConsoleServices) {
    const now = services.relayClock;
    this.#now = now ?? (() => performance.now());
    this.#companions = new CompanionSockets(services.db);
    this.#browserBudgets = new BrowserBudgets(undefined, undefined, now);
    this.#deliveryBudgets = new BrowserBudgets(undefined, undefined, now);
    this.#handshakeBudgets = new BrowserBudgets(HANDSHAKE_SOCKET_LIMIT, HANDSHAKE_ACCOUNT_LIMIT, now);
    this.#remote = new RemoteSessionRelay(() => this.#channel, this.#deliveryBudgets, this.#now);
    this.#otherNodes = new OtherNodeRelay(
      services.db,
      () => this.#channel,
      this.#now,
      (frame) => {
        const local = this.#companions.get(frame.instanceId);
        if (!local?.connected) return false;
        local.data.outbox.push(frame);
        return true;
      },
    );
    this.#sweep = new PresenceSweep(
      services,
      () => this.#companions.instanceIds(),
      (instanceId) => this.#revokeHere(instanceId),
    );
  }

  /**
   * A /companion namespace this hub serves (the main port's, the inform port's). The main port's
   * carries the events between nodes when there are several (its server has the Redis adapter).
   */
  register(nsp: CompanionNamespace, port: "main" | "inform"): void {
    if (port !== "main" || this.services.config.redisUrl === null) return;
    this.#channel = nsp;
    listenToOtherNodes(
      nsp,
      {
        frame: (frame, browser) => this.#fromOtherNode(frame, browser),
        answer: (frame, browser) => this.#answerFromOtherNode(frame, browser),
        companion: (instanceId, socketId) => {
          this.#companions
            .connectedElsewhere(instanceId, socketId)
            .catch((error: unknown) =>
              this.services.log(`relay: node:companion: ${error instanceof Error ? error.message : String(error)}`),
            );
        },
        revoke: (instanceId) => this.#revokeHere(instanceId),
      },
      this.services.log,
    );
  }

  /** Live companion sockets on this node, by instance (tests and status). */
  connectedInstanceIds(): string[] {
    return this.#companions.instanceIds();
  }

  /**
   * An authenticated companion connected: replace any older connection here, record presence,
   * then tell other nodes (their older sockets go once the presence names this one).
   */
  async companionConnected(socket: CompanionSocket): Promise<void> {
    this.#companions.add(socket);
    this.#sweep.start();
    let row: { revokedAt: Date | null } | undefined;
    try {
      [row] = await this.#companions.recordPresence(socket);
    } catch (error) {
      // Kept, the socket would stay connected for good with a row that neither says online nor
      // names it: the heartbeat refreshes only online rows, other nodes would answer its browsers
      // `unavailable`, and the revocation check below would never run. Disconnected, the
      // companion connects again after its backoff, and writes its presence again.
      this.services.log(`companion presence: ${error instanceof Error ? error.message : String(error)}`);
      this.#companionLeft(socket);
      socket.disconnect(true);
      return;
    }
    // Revoked between the middleware's check and now: end it like a revocation.
    if (!row || row.revokedAt) return this.#endCompanion(socket);
    // Other nodes: the previous socket may live there. Sent once the row names this socket, so
    // the node that gets it can tell which connection is newer (CompanionSockets.connectedElsewhere).
    if (this.#companions.serves(socket))
      this.#channel?.serverSideEmit("node:companion", socket.data.instanceId, socket.id);
  }

  /** A companion socket went away: forget it, tell its browsers, mark offline (only its own connection). */
  async companionGone(socket: CompanionSocket): Promise<void> {
    this.#companionLeft(socket);
    await this.#companions.recordOffline(socket);
  }

  /** `socket` no longer serves its instance here: its browsers' sessions end (a newer socket's stay). */
  #companionLeft(socket: CompanionSocket): void {
    if (this.#companions.remove(socket)) this.#closeInstanceSessions(socket.data.instanceId, "unavailable");
    if (this.#companions.size === 0) this.#sweep.stop();
  }

  /**
   * Revocation (after the row is marked revoked): on every node, tell the instance's companion,
   * disconnect it, and close the browser sessions opened with it.
   */
  revoke(instanceId: string): void {
    this.#revokeHere(instanceId);
    this.#channel?.serverSideEmit("node:revoke", instanceId);
  }

  /** Revocation on this node: its browser sessions with the instance, then its companion socket. */
  #revokeHere(instanceId: string): void {
    this.#otherNodes.forget(instanceId);
    // Browsers first, so they learn why (the disconnect below would say "unavailable").
    this.#closeInstanceSessions(instanceId, "instance_revoked");
    const local = this.#companions.get(instanceId);
    if (local) this.#endCompanion(local);
  }

  /**
   * A frame from a browser socket (already parsed, parseRelayFrame); `hold` and the result as in
   * RelayOne. A transport frame to a companion connected here is relayed and acknowledged at
   * once; a handshake waits for its authorization query, a frame for another node for the
   * database.
   */
  fromBrowser(
    browser: BrowserRelaySocket,
    frame: TRelayFrame,
    reply: (ack: TSocketAck) => void,
    hold: HoldRule = false,
  ): boolean {
    try {
      return this.#fromBrowser(browser, frame, reply, hold);
    } catch (error) {
      this.#failed(error, reply);
      return true;
    }
  }

  #fromBrowser(
    browser: BrowserRelaySocket,
    frame: TRelayFrame,
    reply: (ack: TSocketAck) => void,
    hold: HoldRule,
  ): boolean {
    if (!this.#browserBudgets.take(browser, frame.frame.length)) return refuse(reply, "rate_limited");
    if (frame.kind === "handshake") return this.#settle(this.#openSession(browser, frame), reply);
    const existing = this.#sessions.get(frame.sessionId);
    if (!existing || existing.browser !== browser || existing.instanceId !== frame.instanceId)
      return refuse(reply, "not_found");
    if (frame.kind === "close") this.#sessions.remove(existing);
    const sent = this.#sendToCompanion(frame, hold, browser);
    if (sent instanceof Promise) return this.#settle(sent, reply);
    reply(OK);
    return sent;
  }

  /**
   * Replies with what `pending` settles to, or with `internal` (logged) when it fails. True, as
   * RelayOne returns: nothing of the frame waits for the end of this turn.
   */
  #settle(pending: Promise<TSocketAck>, reply: (ack: TSocketAck) => void): true {
    pending.then(reply, (error: unknown) => this.#failed(error, reply));
    return true;
  }

  /** A relay step threw: logged, and the frame refused with `internal` (an event handler must not throw). */
  #failed(error: unknown, reply: (ack: TSocketAck) => void): void {
    this.services.log(`relay: ${error instanceof Error ? error.message : String(error)}`);
    reply(fail("internal"));
  }

  /**
   * A handshake frame: authorize, register the session, then relay it. While it waits for the
   * authorization query it counts against the socket's session cap (LocalSessions.opening), so
   * the handshakes of one batch, which all pass the check before any is added, cannot exceed it.
   */
  async #openSession(browser: BrowserRelaySocket, frame: TRelayFrame): Promise<TSocketAck> {
    if (this.#idTaken(frame.sessionId)) return fail("conflict");
    if (this.#sessions.countOf(browser) >= MAX_SESSIONS_PER_BROWSER_SOCKET) return fail("rate_limited");
    if (!this.#handshakeBudgets.take(browser, frame.frame.length)) return fail("rate_limited");
    const opened = this.#sessions.opening(browser);
    let allowed: boolean;
    try {
      allowed = await mayAddressInstance(this.services.db, browser.data.userId, frame.instanceId);
    } finally {
      // In the turn that adds the session (below): the count never drops between the two.
      opened();
    }
    if (!allowed) return fail("forbidden");
    if (!browser.connected) return fail("unavailable");
    if (this.#idTaken(frame.sessionId)) return fail("conflict");
    // Registered before sending, so the companion's reply always finds its way back.
    const session: E2ESession = { sessionId: frame.sessionId, instanceId: frame.instanceId, browser };
    this.#sessions.add(session);
    const sent = await this.#sendToCompanion(frame, false, browser);
    const ack = typeof sent === "boolean" ? OK : sent;
    if (!ack.ok) this.#sessions.remove(session);
    return ack;
  }

  /**
   * Whether a browser here, or one on another node with a companion here, holds the session id,
   * with any instance: an id names one session per node, so that a frame on it, looked up by id,
   * can never reach (nor be charged to) another instance's session that shares it.
   */
  #idTaken(sessionId: string): boolean {
    return this.#sessions.has(sessionId) || this.#remote.holds(sessionId);
  }

  /**
   * A frame from a companion socket (already parsed): only to a session a browser opened with this
   * instance; `hold` and the result as in RelayOne.
   */
  fromCompanion(
    socket: CompanionSocket,
    frame: TRelayFrame,
    reply: (ack: TSocketAck) => void,
    hold: HoldRule = false,
  ): boolean {
    try {
      return this.#fromCompanion(socket, frame, reply, hold);
    } catch (error) {
      this.#failed(error, reply);
      return true;
    }
  }

  #fromCompanion(
    socket: CompanionSocket,
    frame: TRelayFrame,
    reply: (ack: TSocketAck) => void,
    hold: HoldRule,
  ): boolean {
    if (frame.instanceId !== socket.data.instanceId) return refuse(reply, "forbidden");
    const session = this.#sessions.get(frame.sessionId);
    // Another instance's session here with this id is not this frame's: before anyone is charged,
    // it may be a session a browser on another node opened with this companion.
    if (session === undefined || session.instanceId !== frame.instanceId)
      return this.#remote.answer(socket, frame, reply);
    const bytes = frame.frame.length;
    const now = this.#now();
    // The receiver's own budget first: a flood of answers one account asked for is refused
    // against that account (its session then ends), before it can spend the companion's.
    if (session.browser.connected && !this.#deliveryBudgets.take(session.browser, bytes, now, frame.instanceId))
      return refuse(reply, "rate_limited");
    if (!socket.data.budget.take(bytes, now)) return refuse(reply, "rate_limited");
    if (frame.kind === "close") this.#sessions.remove(session);
    if (!session.browser.connected) return refuse(reply, "not_found");
    // A browser reading slower than the companion sends loses this session, not its socket.
    if (tooSlowFor(frame, session.browser.data.backlog)) return refuse(reply, "rate_limited");
    const left = session.browser.data.outbox.push(frame, hold);
    reply(OK);
    return left;
  }

  /**
   * `node:frame`: a browser's frame through another node, for the companion if it is here. A
   * handshake records who opened the session (their answers are charged to them); a frame without
   * that is dropped, and a handshake for a session id held here (by another browser, or with
   * another instance) is refused with `conflict` (RemoteSessionRelay.fromBrowser).
   */
  #fromOtherNode(frame: TRelayFrame, browser: TNodeBrowser): void {
    const local = this.#companions.get(frame.instanceId);
    if (!local?.connected) return;
    if (this.#remote.fromBrowser(frame, browser, local, this.#sessions.has(frame.sessionId)))
      local.data.outbox.push(frame);
    else if (frame.kind === "handshake")
      this.services.log("relay: a handshake from another node was refused: its session id is taken");
  }

  /** `node:answer`: a companion's frame through another node, for the browser here that opened the session. */
  #answerFromOtherNode(frame: TRelayFrame, browser: TNodeBrowser): void {
    const session = this.#sessions.get(frame.sessionId);
    if (
      session === undefined ||
      session.instanceId !== frame.instanceId ||
      session.browser.id !== browser.browserId ||
      session.browser.data.userId !== browser.accountId
    )
      return;
    // The companion closed it: its slot here is free again.
    if (frame.kind === "close") this.#sessions.remove(session);
    // Dropped for a browser reading too slowly: the gap ends the session there (see #fromCompanion).
    if (tooSlowFor(frame, session.browser.data.backlog)) return;
    if (session.browser.connected) session.browser.data.outbox.push(frame, "if busy");
  }

  /**
   * To the instance's companion: through its socket here (whether the frame went out at once, as
   * FrameOutbox.push says), or through another node (the promise of its acknowledgement), also
   * while earlier frames wait there (they go first, and the companion's node checks that
   * `browser` opened the session); `hold` as in RelayOne.
   */
  #sendToCompanion(frame: TRelayFrame, hold: HoldRule, browser: BrowserRelaySocket): boolean | Promise<TSocketAck> {
    const local = this.#companions.get(frame.instanceId);
    if (!local?.connected || (this.#channel !== undefined && this.#otherNodes.waiting(frame.instanceId)))
      return this.#otherNodes.send(frame, { accountId: browser.data.userId, browserId: browser.id });
    return local.data.outbox.push(frame, hold);
  }

  /** A browser socket went away: free its sessions at the companion (advisory close frames). */
  #browserGone(browser: BrowserRelaySocket): void {
    for (const session of this.#sessions.takeBrowser(browser)) {
      // To the companion wherever it is connected: here, or through another node.
      const close: TRelayFrame = {
        instanceId: session.instanceId,
        sessionId: session.sessionId,
        kind: "close",
        frame: "",
      };
      const sent = this.#sendToCompanion(close, false, browser);
      if (typeof sent !== "boolean") sent.catch((error: unknown) => this.services.log(`relay: ${String(error)}`));
    }
  }

  /** The instance's sessions opened here, and those browsers on other nodes opened with its companion here, are closed. */
  #closeInstanceSessions(instanceId: string, reason: string): void {
    for (const session of this.#sessions.takeInstance(instanceId)) {
      if (session.browser.connected)
        session.browser.data.outbox.push(closeFrame(instanceId, session.sessionId, reason));
    }
    this.#remote.closeInstance(instanceId, reason);
  }

  #endCompanion(socket: CompanionSocket): void {
    socket.emit("session:ended", { reason: "instance_revoked" });
    socket.disconnect(true);
  }
}

const hubs = new WeakMap<ConsoleServices, CompanionHub>();

/**
 * The hub of one running console. Keyed by its services object (so two consoles in one process,
 * as in tests, never share one) until ConsoleServices carries it as a field.
 */
export function companionHub(services: ConsoleServices): CompanionHub {
  let hub = hubs.get(services);
  if (!hub) {
    hub = new CompanionHub(services);
    hubs.set(services, hub);
  }
  return hub;
}
