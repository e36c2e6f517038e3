import { MAX_SOCKET_MESSAGE_BYTES } from "@veil/protocol";

/**
 * What one socket may have waiting in engine.io's write buffer before it is cut off. The buffer
 * grows only while the transport cannot write: the kernel's send buffer is full because the peer
 * stopped reading (or, over polling, stopped polling). Without a bound, a peer that sends and
 * never reads, answering pings so it never times out, piles up the console's acknowledgements of
 * its own events, or the frames relayed to it, until the process runs out of memory. A peer that
 * reads keeps this buffer near empty: it is handed to the transport at every write.
 */
export const WRITE_BACKLOG_LIMIT = { packets: 8_192, bytes: 8 * MAX_SOCKET_MESSAGE_BYTES } as const;

/** The parts of a socket.io socket this needs (engine.io's connection and the upgrade request). */
export interface BackloggedSocket {
  readonly conn: {
    readonly transport: { readonly name: string };
    on(event: "packetCreate", listener: (packet: { data?: unknown }) => void): unknown;
    on(event: "flush", listener: () => void): unknown;
    close(discard?: boolean): unknown;
  };
  readonly request: { readonly socket: { destroy(): void } };
}

const packetBytes = (data: unknown): number =>
  typeof data === "string" ? data.length : data instanceof Uint8Array ? data.byteLength : 0;

/**
 * Cuts `socket` off once more than WRITE_BACKLOG_LIMIT waits to be written to it, and calls
 * `onCut` (to log). Counts what was queued since the buffer last went to the transport.
 */
export function capWriteBacklog(
  socket: BackloggedSocket,
  onCut: (backlog: { packets: number; bytes: number }) => void,
): void {
  let packets = 0;
  let bytes = 0;
  let cut = false;
  const { conn } = socket;
  conn.on("flush", () => {
    packets = 0;
    bytes = 0;
  });
  conn.on("packetCreate", (packet) => {
    packets += 1;
    bytes += packetBytes(packet.data);
    if (cut || (packets <= WRITE_BACKLOG_LIMIT.packets && bytes <= WRITE_BACKLOG_LIMIT.bytes)) return;
    cut = true;
    onCut({ packets, bytes });
    // Discarding drops the buffer at once (a plain close waits for it to drain, which a peer that
    // does not read never lets happen); a WebSocket's connection is then destroyed, so the kernel's
    // send buffer and ws's queue go too, rather than after ws's 30 s closing handshake.
    const websocket = conn.transport.name === "websocket";
    conn.close(true);
    if (websocket) socket.request.socket.destroy();
  });
}
