/**
 * What console nodes tell each other about companions (with REDIS_URL): server-side events on the
 * main port's /companion namespace, which the Redis adapter carries to every other node. Each
 * node applies them to the companion sockets it holds itself, on either port, so a companion on
 * a node's inform port (a socket.io server with no adapter of its own) is reached as well as one
 * on its main port, from every node, whether or not that node has an inform port. The node that
 * holds a companion also keeps the sessions browsers on other nodes opened with it
 * (remote-sessions.ts), so that it charges their answers as it charges its own browsers' ones.
 */
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { instances, type VeilDatabase } from "@veil/db";
import { VeilError, ZIdSchema, ZRelayFrameSchema, type TRelayFrame, type TSocketAck } from "@veil/protocol";
import { presenceFresh } from "./instance-store";

/** The events between nodes. Arguments come from another node through Redis: checked before use. */
export interface NodeEvents {
  /**
   * A browser's frame for an instance whose companion is connected to another node, naming the
   * browser (TNodeBrowser): the companion's node records who opened a session on its handshake,
   * relays later frames of that session only from that browser, and charges it for the answers.
   */
  "node:frame": (frame: unknown, browser: unknown) => void;
  /**
   * A companion's frame to a session a browser on another node opened (charged on the companion's
   * node), naming that browser: only it gets the frame, whoever else holds that session id.
   */
  "node:answer": (frame: unknown, browser: unknown) => void;
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
  frame(frame: TRelayFrame, browser: TNodeBrowser): void;
  answer(frame: TRelayFrame, browser: TNodeBrowser): void;
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
    guarded("node:frame", (frame: unknown, browser: unknown) => {
      const parsed = ZRelayFrameSchema.safeParse(frame);
      const from = ZNodeBrowserSchema.safeParse(browser);
      if (parsed.success && from.success) on.frame(parsed.data, from.data);
      else dropped("node:frame");
    }),
  );
  channel.on(
    "node:answer",
    guarded("node:answer", (frame: unknown, browser: unknown) => {
      const parsed = ZRelayFrameSchema.safeParse(frame);
      const to = ZNodeBrowserSchema.safeParse(browser);
      if (parsed.success && to.success) on.answer(parsed.data, to.data);
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
   * Relays `frame` from `browser` to the node serving its instance; `unavailable` when none is
   * online.
   */
  send(frame: TRelayFrame, browser: TNodeBrowser): Promise<TSocketAck> {
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

  async #emit(frame: TRelayFrame, browser: TNodeBrowser): Promise<TSocketAck> {
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
        .where(and(eq(instances.id, id), eq(instances.online, true), presenceFresh));
      // Online, perhaps on this very node now: its socket connected while the database answered.
      if (this.here(frame)) return OK;
      if (!row) return UNAVAILABLE;
      this.#onlineUntil.set(id, now + ONLINE_ELSEWHERE_MS);
    }
    channel.serverSideEmit("node:frame", frame, browser);
    return OK;
  }
}
