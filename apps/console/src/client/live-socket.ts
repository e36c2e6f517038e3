/**
 * The signed-in tab's socket.io connection. Today it carries one thing the browser acts on:
 * `session:ended`, sent when this session is logged out, revoked from another device, ended by
 * a password change or expired — so the tab drops its keys at once instead of at its next
 * request. The token travels in the handshake `auth` (never the query string, never a cookie).
 */
import { PROTOCOL_VERSION, ZSessionEndedSchema, type TSessionEnded } from "@veil/protocol";
import type { Socket } from "socket.io-client";

const MESSAGES: Record<TSessionEnded["reason"], string> = {
  logout: "You signed out in another window.",
  revoked: "This session was ended from another device.",
  expired: "Your session has ended. Sign in again.",
  password_changed: "Your password was changed elsewhere. Sign in with the new one.",
  instance_revoked: "Your session has ended. Sign in again.",
};

let socket: Socket | null = null;
let connectedToken: string | null = null;

/** Connects (once per token) and calls `onEnded` with a user-facing message when the console ends the session. */
export async function connectLiveSocket(token: string, onEnded: (message: string) => void): Promise<void> {
  if (connectedToken === token) return;
  disconnectLiveSocket();
  connectedToken = token;
  const { io } = await import("socket.io-client");
  if (connectedToken !== token) return; // signed out while loading
  const s = io(window.location.origin, {
    auth: { token, protocolVersion: PROTOCOL_VERSION },
    withCredentials: false,
    reconnectionDelayMax: 30_000,
  });
  s.on("session:ended", (body: unknown) => {
    const parsed = ZSessionEndedSchema.safeParse(body);
    onEnded(parsed.success ? MESSAGES[parsed.data.reason] : MESSAGES.expired);
  });
  s.on("connect_error", (error: Error & { data?: unknown }) => {
    // A refused handshake for a dead session: stop retrying; the next API call will notice too.
    const data = error.data as { error?: { code?: unknown } } | undefined;
    const code = data?.error?.code;
    if (code === "unauthenticated" || code === "session_expired") s.disconnect();
  });
  socket = s;
}

export function disconnectLiveSocket(): void {
  connectedToken = null;
  socket?.disconnect();
  socket = null;
}
