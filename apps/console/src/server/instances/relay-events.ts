/**
 * The socket side of the relay: the outbox of frames to one socket, and the `e2e:frame` /
 * `e2e:frames` events parsed and handed to the hub (companion-hub.ts) one frame at a time, for
 * browser sockets (attach-sockets.ts) and companion sockets (companion-namespace.ts) alike.
 *
 * The console is where frames from many sockets meet on their way to one: every browser socket
 * of an instance sends to its companion's socket, and a companion's answers fan out to browser
 * sockets. So while frames keep coming it relays those of every `e2e:frames` event in a held
 * turn: they leave at the end of the turn of the event loop, together with what other sockets
 * sent in the same turn, one packet per receiving socket (docs/PROTOCOL-COMPANION.md §3). A lone
 * frame to an idle receiver goes at once (FrameOutbox, "if busy"), and so does one request at a
 * time. The acknowledgement always follows the frames: at once when every frame of the event has
 * left, else at the end of the turn.
 */
import {
  FrameOutbox,
  nextTurn,
  parseRelayBatch,
  parseRelayFrame,
  RELAY_BATCHES_SINCE,
  VeilError,
  type HoldRule,
  type TRelayFrame,
  type TSocketAck,
} from "@veil/protocol";

/** The acknowledgement of an event that does not parse. */
const VALIDATION_FAILED: TSocketAck = { ok: false, ...new VeilError("validation_failed").toBody() };

/**
 * The outbox of frames the relay sends one socket (relay-batch.ts): `e2e:frames` batches to a
 * socket that announced protocol version 2, single `e2e:frame`s to an older one. Every frame to a
 * socket goes through it, so none overtakes another.
 */
export function relayOutbox(
  socket: {
    emit(event: "e2e:frames", frames: TRelayFrame[]): unknown;
    emit(event: "e2e:frame", frame: TRelayFrame): unknown;
  },
  protocolVersion: number,
): FrameOutbox {
  if (protocolVersion >= RELAY_BATCHES_SINCE) return new FrameOutbox((frames) => socket.emit("e2e:frames", frames));
  return new FrameOutbox((frames) => {
    for (const frame of frames) socket.emit("e2e:frame", frame);
  });
}

/**
 * Relays one parsed frame and acknowledges it (the hub's fromBrowser or fromCompanion). `hold`:
 * whether the receiver's outbox holds the turn (FrameOutbox.push), so the frame leaves at its end
 * with the rest of the turn's frames to that socket. Returns false when the frame waits in an
 * outbox for the end of the turn, true when nothing of it does (relayed at once, or refused).
 */
export type RelayOne = (frame: TRelayFrame, reply: (ack: TSocketAck) => void, hold: HoldRule) => boolean;

/** The acknowledgement callback of a socket event, if the sender asked for one. */
const ackOf = <T>(ack: unknown): ((result: T) => void) =>
  typeof ack === "function" ? (ack as (result: T) => void) : () => undefined;

/** An `e2e:frame` event: parsed, then relayed through `relayOne`; a malformed frame gets `validation_failed`. */
export function onRelayFrameEvent(raw: unknown, ack: unknown, relayOne: RelayOne): void {
  const reply = ackOf<TSocketAck>(ack);
  const frame = parseRelayFrame(raw);
  if (!frame) return reply(VALIDATION_FAILED);
  relayOne(frame, reply, false);
}

/**
 * An `e2e:frames` event: the batch parsed as a whole (one `validation_failed` for a batch that
 * does not parse, and none of it relayed), then each frame relayed in order through `relayOne`,
 * in a held turn when the batch has several frames or its receiver is busy; acknowledged with one
 * result per frame once every frame has one. The acknowledgement follows the frames: at once when
 * every frame was answered in this call and none waits in an outbox (one request at a time: as
 * a plain relay acknowledges), else after the turn's frames have left (`nextTurn` runs after the
 * outboxes' own end of turn, queued before it).
 */
export function onRelayBatchEvent(raw: unknown, ack: unknown, relayOne: RelayOne): void {
  const reply = ackOf<TSocketAck[] | TSocketAck>(ack);
  const frames = parseRelayBatch(raw);
  if (!frames) return reply(VALIDATION_FAILED);
  const hold: HoldRule = frames.length > 1 || "if busy";
  const acks = new Array<TSocketAck>(frames.length);
  // No closure bound to a name here: the console runs under tsx, which names each such closure
  // with a call to Object.defineProperty every time it is made, once per event on this path.
  let waiting = frames.length;
  let relaying = true;
  let queued = false;
  for (let i = 0; i < frames.length; i++) {
    const left = relayOne(
      frames[i] as TRelayFrame,
      (result) => {
        if (acks[i] !== undefined) return;
        acks[i] = result;
        if (--waiting === 0 && !relaying) nextTurn(() => reply(acks));
      },
      hold,
    );
    if (!left) queued = true;
  }
  relaying = false;
  if (waiting === 0) {
    if (queued) nextTurn(() => reply(acks));
    else reply(acks);
  }
}
