/**
 * The companion's single import point for @veil/crypto. The Noise session module is not yet
 * re-exported from the package entry; until it is, it is imported here by path.
 */
export * from "@veil/crypto";
export {
  acceptSession,
  initiateSession,
  Session,
  SessionError,
  type PendingResponderSession,
  type PendingInitiatorSession,
} from "../../../packages/crypto/src/session/index";
