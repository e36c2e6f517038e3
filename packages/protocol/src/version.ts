/**
 * The wire protocol version, sent in every socket handshake and bound into every end-to-end
 * session prologue. An integer, bumped on any incompatible change, with a dated changelog.
 *
 * 1: 2026-11-22: first version — accounts API, socket handshake auth, E2E relay envelopes.
 */
export const PROTOCOL_VERSION = 1 as const;

/** Oldest protocol version a peer may speak and still be served. */
export const MIN_PROTOCOL_VERSION = 1 as const;
