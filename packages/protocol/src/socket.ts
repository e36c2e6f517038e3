import { z } from "zod";
import { b64uChars, BASE64URL, UUID, zB64u, ZIdSchema, ZSecret256Schema } from "./fields";
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from "./version";
import { ZErrorBodySchema, type TErrorBody } from "./errors";

/** Largest socket.io message the console accepts (socket.io `maxHttpBufferSize`). */
export const MAX_SOCKET_MESSAGE_BYTES = 256 * 1024;

/** Largest end-to-end frame the console relays: a Noise transport message plus header. */
export const MAX_E2E_FRAME_BYTES = 65_535 + 9;

const ZProtocolVersionSchema = z.number().int().min(MIN_PROTOCOL_VERSION).max(PROTOCOL_VERSION);

/**
 * `auth` of a browser's socket.io handshake. The session token travels here, never in the
 * query string (which ends up in logs) and never in a cookie (which a cross-site page could
 * make the browser send).
 */
export const ZBrowserSocketAuthSchema = z.object({
  token: ZSecret256Schema,
  protocolVersion: ZProtocolVersionSchema,
});
export type TBrowserSocketAuth = z.infer<typeof ZBrowserSocketAuthSchema>;

/** `auth` of a companion's socket.io handshake: the instance id and its token's auth key. */
export const ZCompanionSocketAuthSchema = z.object({
  instanceId: ZIdSchema,
  authKey: ZSecret256Schema,
  protocolVersion: ZProtocolVersionSchema,
  companionVersion: z.string().max(64),
});
export type TCompanionSocketAuth = z.infer<typeof ZCompanionSocketAuthSchema>;

/**
 * An end-to-end frame as the console sees it: opaque bytes plus the routing it needs. `kind`
 * says whether the bytes are a Noise handshake message or a transport frame; the console
 * checks neither, it only relays.
 */
export const ZRelayFrameSchema = z.object({
  instanceId: ZIdSchema,
  /** Chosen by the browser per end-to-end session; routes the companion's replies. */
  sessionId: zB64u({ bytes: 16 }),
  kind: z.enum(["handshake", "transport", "close"]),
  frame: zB64u({ maxBytes: MAX_E2E_FRAME_BYTES }),
});
export type TRelayFrame = z.infer<typeof ZRelayFrameSchema>;

const SESSION_ID_CHARS = b64uChars(16);
const MAX_FRAME_CHARS = b64uChars(MAX_E2E_FRAME_BYTES);

/**
 * A relay frame as ZRelayFrameSchema parses it, or null when it does not parse.
 *
 * Every frame is read at each hop (console, companion, browser), and one request at a time
 * each of those steps runs cold, so the common case goes the short way: a well-formed frame is
 * checked by hand against the schema's own rules (its uuid pattern, base64url, lengths, kind)
 * and copied field by field, as zod would (unknown keys dropped). Whatever that check does not
 * accept goes through the schema, which has the last word; the shortcut only ever accepts
 * what the schema accepts, with the same result (test/relay-frame.test.ts checks both on
 * generated and mutated frames).
 */
export function parseRelayFrame(raw: unknown): TRelayFrame | null {
  return wellFormedFrame(raw) ?? ZRelayFrameSchema.safeParse(raw).data ?? null;
}

/** The shortcut of parseRelayFrame: a copy of a frame that certainly parses, else null. */
export function wellFormedFrame(raw: unknown): TRelayFrame | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const { instanceId, sessionId, kind, frame } = raw as Record<string, unknown>;
  if (typeof instanceId !== "string" || !UUID.test(instanceId)) return null;
  if (typeof sessionId !== "string" || sessionId.length !== SESSION_ID_CHARS || !BASE64URL.test(sessionId)) return null;
  if (kind !== "transport" && kind !== "handshake" && kind !== "close") return null;
  if (typeof frame !== "string" || frame.length > MAX_FRAME_CHARS || !BASE64URL.test(frame)) return null;
  return { instanceId, sessionId, kind, frame };
}

/** Acknowledgement of every client-to-server socket event: ok, or a stable error. */
export type TSocketAck = { ok: true } | ({ ok: false } & TErrorBody);
/** Parses an acknowledgement (the console's word, checked like any other input). */
export const ZSocketAckSchema: z.ZodType<TSocketAck> = z.union([
  z.object({ ok: z.literal(true) }),
  ZErrorBodySchema.extend({ ok: z.literal(false) }),
]);

/** Why the console ended a socket: sent just before it disconnects. */
export const ZSessionEndedSchema = z.object({
  reason: z.enum(["logout", "revoked", "expired", "password_changed", "instance_revoked"]),
});
export type TSessionEnded = z.infer<typeof ZSessionEndedSchema>;

/** Events a browser may emit to the console. Payloads are parsed with the schemas above. */
export interface BrowserToConsoleEvents {
  "e2e:frame": (frame: TRelayFrame, ack: (result: TSocketAck) => void) => void;
  /** Frames in order (relay-batch.ts): one result per frame, or one for a batch that could not be read. */
  "e2e:frames": (frames: TRelayFrame[], ack: (results: TSocketAck[] | TSocketAck) => void) => void;
}

/** Events the console emits to a browser. */
export interface ConsoleToBrowserEvents {
  "e2e:frame": (frame: TRelayFrame) => void;
  "e2e:frames": (frames: TRelayFrame[]) => void;
  "session:ended": (body: TSessionEnded) => void;
}
