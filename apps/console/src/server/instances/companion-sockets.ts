import type { VeilDatabase } from "@veil/db";
import { presenceConnectionId, recordOffline, recordPresence } from "./instance-store";
import type { CompanionSocket } from "./relay-sockets";

/**
 * The companion sockets connected to this node, one per instance (a new one replaces the old),
 * and their presence rows. Each socket's presence write is kept (settled) so that what comes
 * after it waits for it: its offline write, which could otherwise land first on another pooled
 * connection, and the arbitration between nodes (`connectedElsewhere`).
 */
export class CompanionSockets {
  readonly #sockets = new Map<string, CompanionSocket>();
  readonly #presence = new WeakMap<CompanionSocket, Promise<unknown>>();

  constructor(private readonly db: VeilDatabase) {}

  get(instanceId: string): CompanionSocket | undefined {
    return this.#sockets.get(instanceId);
  }

  instanceIds(): string[] {
    return [...this.#sockets.keys()];
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** Whether `socket` is the one serving its instance here. */
  serves(socket: CompanionSocket): boolean {
    return this.#sockets.get(socket.data.instanceId) === socket;
  }

  /** `socket` serves its instance here now: an older socket of the instance here is disconnected. */
  add(socket: CompanionSocket): void {
    const previous = this.#sockets.get(socket.data.instanceId);
    if (previous && previous !== socket) previous.disconnect(true);
    this.#sockets.set(socket.data.instanceId, socket);
  }

  /** Forgets `socket`; whether it was the one serving its instance here (a newer one stays). */
  remove(socket: CompanionSocket): boolean {
    if (!this.serves(socket)) return false;
    this.#sockets.delete(socket.data.instanceId);
    return true;
  }

  /**
   * Writes that the instance is online through `socket` (the row names it). Resolves with the
   * row's revocation (empty when the row is gone); rejects when the write fails.
   */
  recordPresence(socket: CompanionSocket): Promise<{ revokedAt: Date | null }[]> {
    const { instanceId, ip, companionVersion } = socket.data;
    const written = recordPresence(this.db, instanceId, { ip, companionVersion, connectionId: socket.id });
    this.#presence.set(
      socket,
      written.catch(() => undefined),
    );
    return written;
  }

  /** `socket` went: the instance is offline, unless the row names a newer connection by now. */
  async recordOffline(socket: CompanionSocket): Promise<void> {
    await this.#presence.get(socket);
    await recordOffline(this.db, socket.data.instanceId, socket.id);
  }

  /**
   * `node:companion`: the instance's companion connected through another node. Such events from
   * different nodes arrive in no set order (a node's may wait in its Redis client's queue), so the
   * arbiter is the database row, which names the connection whose presence was written last: each
   * node writes before it tells the others, and this waits for the local socket's own write. The
   * local socket goes only when the row no longer names it, so of two nodes that tell each other,
   * exactly the one the row names keeps its socket.
   */
  async connectedElsewhere(instanceId: string, socketId: string): Promise<void> {
    const local = this.#sockets.get(instanceId);
    if (local === undefined || local.id === socketId) return;
    await this.#presence.get(local);
    const named = await presenceConnectionId(this.db, instanceId);
    if (this.#sockets.get(instanceId) === local && named !== local.id) local.disconnect(true);
  }
}
