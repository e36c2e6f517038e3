/**
 * The wire protocol version, sent in every socket handshake. An integer, bumped on any
 * incompatible change, with a dated changelog. The console serves every version from
 * MIN_PROTOCOL_VERSION up, so companions installed before an upgrade keep working; a companion
 * is installed from its console, so it is never newer than the console it talks to.
 *
 * 1: 2026-11-22: first version — accounts API, socket handshake auth, E2E relay envelopes.
 *    2026-11-22 (additive, no bump): companion socket events `snapshot:grants` and
 *    `snapshot:chunk`, GET /api/instances/:id/snapshot (companion/snapshots.ts). A console
 *    without them never acknowledges; the companion then just keeps no snapshot there.
 *    2026-11-22 (additive, no bump): admin delegations travel with admin grants
 *    (`delegation` in the grant create request and in each listed grant).
 * 2: 2026-11-22: relay batches — senders coalesce the frames of one event-loop turn into one
 *    `e2e:frames` packet (socket.ts, relay-batch.ts). The console still accepts `e2e:frame` from
 *    everyone and sends batches only to sockets that announced version 2; every receiver still
 *    accepts single frames (multi-node relays send those). End-to-end sessions are unchanged
 *    (SESSION_PROTOCOL_VERSION).
 *    2026-11-24 (additive, no bump): push-stream flow control inside end-to-end sessions — the
 *    companion's hello names `streamWindowBytes` and the browser answers events with `ack`
 *    messages (companion/messages.ts). A browser sends no `ack` to a companion whose hello lacks
 *    it, and a companion applies the window to a stream only once the browser acknowledged it.
 */
export const PROTOCOL_VERSION = 2 as const;

/** The first socket protocol version whose receivers take `e2e:frames` batches. */
export const RELAY_BATCHES_SINCE = 2 as const;

/**
 * The end-to-end session protocol, bound into every Noise session prologue (what browser and
 * companion say to each other inside the relay). Separate from PROTOCOL_VERSION so a change in
 * how the relay carries frames does not cut sessions with companions of the previous version.
 */
export const SESSION_PROTOCOL_VERSION = 1 as const;

/** Oldest protocol version a peer may speak and still be served. */
export const MIN_PROTOCOL_VERSION = 1 as const;
