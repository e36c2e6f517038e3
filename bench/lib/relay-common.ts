// What both relays share: socket.io from the console, acknowledged frames, answers awaited by id,
// and stopping child processes.
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import type * as SocketIoServer from "socket.io";
import type { browserSocket } from "../../apps/console/test/helpers/instances";
import type { TRelayFrame, TSocketAck } from "../../packages/protocol/src/index";

// socket.io and socket.io-client are the console's (bench does not depend on them).
const consoleRequire = createRequire(path.join(import.meta.dirname, "..", "..", "apps", "console", "package.json"));
export const { Server } = consoleRequire("socket.io") as typeof SocketIoServer;
/** The client socket type, from the test helpers (which import socket.io-client from the console). */
export type Socket = ReturnType<typeof browserSocket>;
export const { io: connect } = consoleRequire("socket.io-client") as {
  io: (
    uri: string,
    options: {
      transports: string[];
      ca: string | undefined;
      reconnection: boolean;
      forceNew: boolean;
      auth?: Record<string, string>;
    },
  ) => Socket;
};

/** Waits for a response registered under `id`, failing after 5 s. */
export class Waiters<T> {
  readonly #pending = new Map<string, { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  wait(id: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to ${id} within 5 s`));
      }, 5_000);
      this.#pending.set(id, { resolve, reject, timer });
    });
  }
  settle(id: string, value: T): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(value);
  }
}

export function emitFrame(s: Socket, frame: TRelayFrame): Promise<void> {
  return new Promise((resolve, reject) =>
    s.emit("e2e:frame", frame, (ack: TSocketAck) =>
      ack.ok ? resolve() : reject(new Error(`relay refused: ${ack.error.code}`)),
    ),
  );
}

export async function stopChild(child: ChildProcess & { exit?: Promise<number | null> }): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = child.exit ?? new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exit;
  clearTimeout(timer);
}
