/** The companion's version, reported in the socket handshake and in `system.info`. */
export const COMPANION_VERSION = "0.1.0";
