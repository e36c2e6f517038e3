/**
 * The socket.io Redis adapter that joins console nodes (REDIS_URL): rooms (a session revoked on
 * one node ends its sockets on every node) and the nodes' server-side events (other-node-relay.ts).
 *
 * What arrives from Redis is input like any other: anyone who can publish there can send any
 * bytes on the adapter's channels. The adapter (8.3.0, pinned) parses them but does not check their
 * shape, and runs them inside the Redis client's message callback, where a throw is an uncaught
 * exception (or, in its async request handler, an unhandled rejection): either ends the console.
 * One message such as `{"uid":"x","type":6,"data":5}` on the request channel would end every node
 * at once. So here: malformed server-side events are dropped before socket.io sees them, and any
 * throw while handling a message is caught and logged. docs/OPERATIONS.md says why Redis must
 * still be private to the console (a publisher can also disconnect sockets and broadcast events).
 */
import { RedisAdapter } from "@socket.io/redis-adapter";
import type { Namespace, Server } from "socket.io";
import type { Logger } from "../services";

/**
 * The prefix of the adapter's Redis channels (`veil#/#`, `veil-request#/companion#`, …): the
 * console's own, not socket.io's default `socket.io`, which any other socket.io app on the same
 * Redis would share (its events would reach our namespaces, ours its).
 */
export const REDIS_ADAPTER_KEY = "veil";

/** The events console nodes send each other (NodeEvents in other-node-relay.ts): nothing else is handed on. */
const NODE_EVENT = /^node:[a-z]{1,32}$/;

/**
 * The adapter's handlers for messages from Redis. Private in its typings; its Redis listeners call
 * them through `this` on every message, so an own property put on the instance replaces them.
 */
interface RedisMessageHandlers {
  onrequest(channel: unknown, msg: unknown): Promise<void>;
  onmessage(pattern: unknown, channel: unknown, msg: unknown): void;
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Lets through to `nsp` only server-side events shaped as console nodes send them: an array whose
 * first element names a `node:` event. socket.io applies the array as the event's arguments and
 * checks nothing (its sender refuses reserved names such as "connection"; a forged message would
 * not): anything else from Redis would throw there, or fire a namespace's own events.
 */
function acceptOnlyNodeEvents(nsp: Namespace, log: Logger): void {
  const deliver = nsp._onServerSideEmit.bind(nsp);
  nsp._onServerSideEmit = (args) => {
    // Typed as socket.io expects it; parsed from Redis, it may be anything.
    const data: unknown = args;
    if (!Array.isArray(data) || typeof data[0] !== "string" || !NODE_EVENT.test(data[0]))
      return log(`redis: a malformed server-side event for ${nsp.name} was dropped`);
    deliver(args);
  };
}

/** The adapter for one namespace, with its handlers of Redis messages guarded (see the file comment). */
function guardedRedisAdapter(nsp: Namespace, pub: unknown, sub: unknown, log: Logger): RedisAdapter {
  acceptOnlyNodeEvents(nsp, log);
  const adapter = new RedisAdapter(nsp, pub, sub, { key: REDIS_ADAPTER_KEY });
  const handlers = adapter as unknown as RedisMessageHandlers;
  const onrequest = handlers.onrequest.bind(adapter);
  const onmessage = handlers.onmessage.bind(adapter);
  const failed = (error: unknown): void =>
    log(`redis: a message for ${nsp.name} failed and was dropped: ${reason(error)}`);
  handlers.onrequest = async (channel, msg) => {
    try {
      await onrequest(channel, msg);
    } catch (error) {
      failed(error);
    }
  };
  handlers.onmessage = (pattern, channel, msg) => {
    try {
      onmessage(pattern, channel, msg);
    } catch (error) {
      failed(error);
    }
  };
  return adapter;
}

/** A Redis client as the console closes it. */
export interface RedisConnection {
  quit(): Promise<unknown>;
}

/**
 * Connects to Redis (one client to publish, one to subscribe) and sets the guarded adapter on
 * `io`, for its namespaces now and later. Returns the clients, for the console to close.
 */
export async function attachRedisAdapter(io: Server, url: string, log: Logger): Promise<RedisConnection[]> {
  const { createClient } = await import("redis");
  const pub = createClient({ url });
  const sub = pub.duplicate();
  pub.on("error", (e: unknown) => log(`redis: ${reason(e)}`));
  sub.on("error", (e: unknown) => log(`redis: ${reason(e)}`));
  await Promise.all([pub.connect(), sub.connect()]);
  // A function, not an arrow: socket.io calls it with `new` (as createAdapter's), and takes what it returns.
  io.adapter(function redisAdapter(nsp: Namespace) {
    return guardedRedisAdapter(nsp, pub, sub, log);
  });
  return [pub, sub];
}
