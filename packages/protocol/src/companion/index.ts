/**
 * Companion wire formats: the enrollment string, instance certificates, grants and admin
 * delegations, the companion's HTTP bodies and socket events, the session-open frame and the
 * end-to-end request/response catalogue. docs/PROTOCOL-COMPANION.md is the prose specification.
 */
export * from "./base64url";
export * from "./enrollment";
export * from "./statements";
export * from "./api";
export * from "./messages";
export * from "./session-open";
export * from "./socket";
export * from "./devices";
export * from "./discovery";
export * from "./vault";
export * from "./terminal";
export * from "./audit";
export * from "./snapshots";
