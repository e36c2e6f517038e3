/**
 * The sockets the relay works with (companion-hub.ts, remote-sessions.ts), the E2E sessions it
 * keeps, and the acknowledgements and close frames it sends.
 */
import type { Namespace, Socket } from "socket.io";
import {
  VeilError,
  type CompanionToConsoleEvents,
  type ConsoleToCompanionEvents,
  type ErrorCode,
  type FrameOutbox,
  type TRelayFrame,
  type TSocketAck,
} from "@veil/protocol";
import type { WriteBacklog } from "../socket/write-backlog";
import type { FrameBudget } from "./frame-budget";
import type { NodeEvents } from "./other-node-relay";

/** What the companion namespace's middleware leaves on an authenticated companion socket. */
export interface CompanionSocketData {
  instanceId: string;
  ip: string;
  companionVersion: string;
  budget: FrameBudget;
  outbox: FrameOutbox;
}

export type CompanionSocket = Socket<
  CompanionToConsoleEvents,
  ConsoleToCompanionEvents,
  NodeEvents,
  CompanionSocketData
>;
export type CompanionNamespace = Namespace<
  CompanionToConsoleEvents,
  ConsoleToCompanionEvents,
  NodeEvents,
  CompanionSocketData
>;

/** The part of a browser socket the relay uses (kept structural: the browser server is typed elsewhere). */
export interface BrowserRelaySocket {
  readonly id: string;
  readonly connected: boolean;
  /** `backlog`: what waits to be written to it (socket/write-backlog.ts), once it is connected. */
  readonly data: { userId: string; outbox: FrameOutbox; backlog?: WriteBacklog };
  once(event: "disconnect", listener: () => void): unknown;
}

export interface E2ESession {
  readonly sessionId: string;
  readonly instanceId: string;
  readonly browser: BrowserRelaySocket;
}

export const fail = (code: ErrorCode): TSocketAck => ({ ok: false, ...new VeilError(code).toBody() });
export const OK: TSocketAck = Object.freeze({ ok: true });
/** Refuses a frame with `code`; true, as RelayOne returns: nothing of it was queued. */
export const refuse = (reply: (ack: TSocketAck) => void, code: ErrorCode): true => {
  reply(fail(code));
  return true;
};
export const closeFrame = (instanceId: string, sessionId: string, reason: string): TRelayFrame => ({
  instanceId,
  sessionId,
  kind: "close",
  frame: Buffer.from(reason, "ascii").toString("base64url"),
});
