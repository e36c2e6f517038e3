// The relay's socket events (src/server/instances/relay-events.ts) with a stand-in hub that pushes
// every frame into one receiving socket's FrameOutbox, as the hub does: while frames keep coming,
// those of each `e2e:frames` event leave at the end of the turn, together with what other sockets
// sent in the same turn, and the event's acknowledgement goes out after them; a lone frame to an
// idle receiver leaves at once and is acknowledged at once, as a plain relay does; so is a single
// `e2e:frame`; a batch that does not parse relays nothing.
import { describe, expect, it } from "vitest";
import { FrameOutbox, IDLE_AFTER_MS, type HoldRule, type TRelayFrame, type TSocketAck } from "@veil/protocol";
import { onRelayBatchEvent, onRelayFrameEvent } from "../src/server/instances/relay-events";

const frame = (n: number): TRelayFrame => ({
  instanceId: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e",
  sessionId: "AAAAAAAAAAAAAAAAAAAAAA",
  kind: "transport",
  frame: `AAA${n}`,
});

/** What went out, in order: each packet to the receiving socket, and each acknowledgement. */
function relay() {
  const wire: string[] = [];
  // A clock that moves only when the test says: no frame waits past MAX_BATCH_WAIT_MS, however
  // slow the first parse, and the receiver is idle only when the test lets time pass.
  const clock = { ms: 0 };
  const outbox = new FrameOutbox(
    (frames) => wire.push(`packet ${frames.map((f) => f.frame.slice(3)).join(",")}`),
    undefined,
    () => clock.ms,
  );
  const relayOne = (f: TRelayFrame, reply: (ack: TSocketAck) => void, hold: HoldRule): boolean => {
    if (f.kind === "close") {
      // Refused without touching the outbox, as the hub refuses a frame for an unknown session.
      reply({ ok: false, error: { code: "not_found", message: "No such session.", retryable: false } });
      return true;
    }
    const left = outbox.push(f, hold);
    reply({ ok: true });
    return left;
  };
  /** An `e2e:frames` event from socket `from`. */
  const batch = (from: string, frames: unknown): void =>
    onRelayBatchEvent(frames, (ack: unknown) => wire.push(`ack ${from} ${JSON.stringify(ack)}`), relayOne);
  const single = (from: string, f: unknown): void =>
    onRelayFrameEvent(f, (ack: unknown) => wire.push(`ack ${from} ${JSON.stringify(ack)}`), relayOne);
  return { wire, batch, single, clock };
}

const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("relay events", () => {
  it("relays the frames of every batch event at the end of the turn while the receiver is busy, merged across sockets, and acknowledges after them", async () => {
    const { wire, batch } = relay();
    // Three browser sockets' packets read in one turn, as the poll phase reads them; the batch of
    // two is held whatever came before.
    batch("b", [frame(2), frame(3)]);
    batch("a", [frame(1)]);
    batch("c", [frame(4)]);
    expect(wire).toEqual([]);
    await endOfTurn();
    expect(wire).toEqual([
      "packet 2,3,1,4",
      'ack b [{"ok":true},{"ok":true}]',
      'ack a [{"ok":true}]',
      'ack c [{"ok":true}]',
    ]);
    // Still busy in the next turn: the lone frame waits for the rest of it.
    batch("a", [frame(5)]);
    batch("c", [frame(6)]);
    expect(wire).toHaveLength(4);
    await endOfTurn();
    expect(wire.slice(4)).toEqual(["packet 5,6", 'ack a [{"ok":true}]', 'ack c [{"ok":true}]']);
  });

  it("relays a lone frame to an idle receiver at once and acknowledges it right after, and the rest of the turn at its end", async () => {
    const { wire, batch, clock } = relay();
    batch("a", [frame(1)]);
    expect(wire).toEqual(["packet 1", 'ack a [{"ok":true}]']);
    await endOfTurn();
    expect(wire).toHaveLength(2);
    // Idle again: the first frame goes at once, the next one of the same turn waits for its end,
    // and so does its acknowledgement.
    clock.ms += IDLE_AFTER_MS;
    batch("b", [frame(2)]);
    batch("c", [frame(3)]);
    expect(wire.slice(2)).toEqual(["packet 2", 'ack b [{"ok":true}]']);
    await endOfTurn();
    expect(wire.slice(2)).toEqual(["packet 2", 'ack b [{"ok":true}]', "packet 3", 'ack c [{"ok":true}]']);
  });

  it("acknowledges at once a batch none of whose frames waits: every frame refused", () => {
    const { wire, batch } = relay();
    batch("a", [
      { ...frame(1), kind: "close" },
      { ...frame(2), kind: "close" },
    ]);
    expect(wire).toEqual([expect.stringMatching(/^ack a \[\{"ok":false,"error":\{"code":"not_found".*\}\]$/)]);
  });

  it("relays a single e2e:frame at once and acknowledges it at once", () => {
    const { wire, single } = relay();
    single("a", frame(1));
    expect(wire).toEqual(["packet 1", 'ack a {"ok":true}']);
  });

  it("refuses a batch that does not parse at once, with one validation_failed, and relays none of it", async () => {
    const { wire, batch, single } = relay();
    batch("a", [frame(1), { ...frame(2), kind: "sideways" }]);
    single("b", { ...frame(3), frame: "not base64url!" });
    expect(wire).toEqual([
      expect.stringMatching(/^ack a \{"ok":false,"error":\{"code":"validation_failed"/),
      expect.stringMatching(/^ack b \{"ok":false,"error":\{"code":"validation_failed"/),
    ]);
    await endOfTurn();
    expect(wire).toHaveLength(2);
  });
});
