import { MAX_SOCKET_MESSAGE_BYTES } from "@veil/protocol";

/**
 * What one socket may have waiting in engine.io's write buffer before it is cut off. The buffer
 * grows only while the transport cannot write: the kernel's send buffer is full because the peer
 * stopped reading (or, over polling, stopped polling). Without a bound, a peer that sends and
 * never reads, answering pings so it never times out, piles up the console's acknowledgements of
 * its own events, or the frames relayed to it, until the process runs out of memory. A peer that
 * reads keeps this buffer near empty between turns: within one turn every packet after the
 * first waits here, so the byte limit (32 MiB) stays far above what the relay may send one
 * socket in a burst (4 MiB, frame-budget.ts); acknowledgements, the flood of a peer that does not
 * read, are small packets and meet the packet limit first.
 */
export const WRITE_BACKLOG_LIMIT = { packets: 8_192, bytes: 128 * MAX_SOCKET_MESSAGE_BYTES } as const;

/**
 * Above this backlog the relay refuses frames for a browser socket (`rate_limited`, which ends
 * only the session the frame was for): a browser that reads, but slower than a companion sends
 * (a terminal printing a long log to a slow link), loses that session, not every session of the
 * socket to the cut above.
 */
export const RELAY_BACKLOG_SOFT_BYTES = WRITE_BACKLOG_LIMIT.bytes / 4;

/**
 * Whether a frame for a browser socket with this backlog is refused (RELAY_BACKLOG_SOFT_BYTES): a
 * `close`, a few bytes, always goes, so the browser learns its session ended.
 */
export function tooSlowFor(frame: { readonly kind: string }, backlog: WriteBacklog | undefined): boolean {
  return frame.kind !== "close" && (backlog?.bytes ?? 0) > RELAY_BACKLOG_SOFT_BYTES;
}

/** What waits to be written to one socket, since its buffer last went to the transport. */
export interface WriteBacklog {
  readonly packets: number;
  readonly bytes: number;
}

/** The parts of a socket.io socket this needs: engine.io's connection and its transport. */
export interface BackloggedSocket {
  readonly conn: {
    readonly transport: unknown;
    on(event: "packetCreate", listener: (packet: { data?: unknown }) => void): unknown;
    on(event: "flush", listener: () => void): unknown;
    close(discard?: boolean): unknown;
  };
}

const packetBytes = (data: unknown): number =>
  typeof data === "string" ? data.length : data instanceof Uint8Array ? data.byteLength : 0;

/**
 * Counts what waits to be written to `socket` (the returned backlog, read by the relay) and cuts
 * the socket off once that passes WRITE_BACKLOG_LIMIT, calling `onCut` (to log).
 */
export function capWriteBacklog(socket: BackloggedSocket, onCut: (backlog: WriteBacklog) => void): WriteBacklog {
  const backlog = { packets: 0, bytes: 0 };
  let cut = false;
  const { conn } = socket;
  conn.on("flush", () => {
    backlog.packets = 0;
    backlog.bytes = 0;
  });
  conn.on("packetCreate", (packet) => {
    backlog.packets += 1;
    backlog.bytes += packetBytes(packet.data);
    if (cut || (backlog.packets <= WRITE_BACKLOG_LIMIT.packets && backlog.bytes <= WRITE_BACKLOG_LIMIT.bytes)) return;
    cut = true;
    onCut({ ...backlog });
    // Discarding drops the buffer at once (a plain close waits for it to drain, which a peer that
    // does not read never lets happen). A WebSocket transport's own socket (ws) is then
    // terminated, so the kernel's send buffer and ws's queue go too, rather than after ws's 30 s
    // closing handshake. (Not the upgrade request's socket: on a connection that began with
    // polling, that is an HTTP connection.)
    const ws = (conn.transport as { socket?: { terminate?: () => void } }).socket;
    conn.close(true);
    ws?.terminate?.();
  });
  return backlog;
}
