/**
 * Frames for an instance whose companion is connected to another console node (companion-hub.ts
 * sends here when it has no socket for the instance): through the instance's room, which the
 * Redis adapter carries to every node, when the database says the instance is online.
 */
import { and, eq } from "drizzle-orm";
import { instances, type VeilDatabase } from "@veil/db";
import { VeilError, type TRelayFrame, type TSocketAck } from "@veil/protocol";
import type { CompanionNamespace } from "./companion-hub";

/** The room every socket of an instance's companion joins, on every node. */
export const instanceRoom = (instanceId: string): string => `instance:${instanceId}`;

/** How long "its companion is online on another node" is trusted before the database is asked again. */
const ONLINE_ELSEWHERE_MS = 1000;
const OK: TSocketAck = Object.freeze({ ok: true });
const UNAVAILABLE: TSocketAck = Object.freeze({ ok: false, ...new VeilError("unavailable").toBody() });

/**
 * Frames to one instance leave in the order they came, each after the one before (a reordered
 * frame would end its Noise session); the database is asked at most once a second per instance
 * while it answers "online".
 */
export class OtherNodeRelay {
  /** Per instance: the last frame sent there, which the next one waits for. */
  readonly #queues = new Map<string, Promise<void>>();
  /** Per instance: until when "online on another node" holds without asking the database again. */
  readonly #onlineUntil = new Map<string, number>();

  constructor(
    private readonly db: VeilDatabase,
    private readonly namespaces: ReadonlySet<CompanionNamespace>,
    private readonly now: () => number,
  ) {}

  /** Relays `frame` to the other node serving its instance; `unavailable` when none is online. */
  send(frame: TRelayFrame): Promise<TSocketAck> {
    const id = frame.instanceId;
    const sent = (this.#queues.get(id) ?? Promise.resolve()).then(() => this.#emit(frame));
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

  /** Forgets that the instance was online elsewhere (it was just revoked). */
  forget(instanceId: string): void {
    this.#onlineUntil.delete(instanceId);
  }

  async #emit(frame: TRelayFrame): Promise<TSocketAck> {
    const id = frame.instanceId;
    const now = this.now();
    if ((this.#onlineUntil.get(id) ?? Number.NEGATIVE_INFINITY) <= now) {
      this.#onlineUntil.delete(id);
      const [row] = await this.db
        .select({ online: instances.online })
        .from(instances)
        .where(and(eq(instances.id, id), eq(instances.online, true)));
      if (!row) return UNAVAILABLE;
      this.#onlineUntil.set(id, now + ONLINE_ELSEWHERE_MS);
    }
    for (const nsp of this.namespaces) nsp.to(instanceRoom(id)).emit("e2e:frame", frame);
    return OK;
  }
}
