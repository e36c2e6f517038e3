/**
 * The wire protocol version, sent in every socket handshake and bound into every end-to-end
 * session prologue. An integer, bumped on any incompatible change, with a dated changelog.
 *
 * 1: 2026-11-22: first version — accounts API, socket handshake auth, E2E relay envelopes.
 *    2026-11-22 (additive, no bump): companion socket events `snapshot:grants` and
 *    `snapshot:chunk`, GET /api/instances/:id/snapshot (companion/snapshots.ts). A console
 *    without them never acknowledges; the companion then just keeps no snapshot there.
 *    2026-11-22 (additive, no bump): admin delegations travel with admin grants
 *    (`delegation` in the grant create request and in each listed grant).
 */
export const PROTOCOL_VERSION = 1 as const;

/** Oldest protocol version a peer may speak and still be served. */
export const MIN_PROTOCOL_VERSION = 1 as const;
