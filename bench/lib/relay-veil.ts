// The Veil side: the real console (rate limits lifted; in this process, or in its own with
// `startRig({ consoleProcess: true })`, lib/fleet-console.ts), a real companion enrolled with the
// real CLI (child process, as apps/console/test/companion-relay.test.ts runs it), and browser
// ends that open a Noise_KK session from @veil/crypto exactly as the browser does.
import type { ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  initiateSession,
  fingerprint,
  fromBase64Url,
  fromUtf8,
  toBase64Url,
  useSodiumAead,
  utf8,
  type Session,
} from "@veil/crypto";
import {
  clientOutbox,
  encodeEnrollment,
  onRelayFrames,
  encodeSessionOpen,
  parseE2EResponse,
  SESSION_PROTOCOL_VERSION,
  type AckedOutbox,
  type TCompanionInfoResponse,
  type TInstanceResponse,
  type TE2EResponse,
  type TRelayFrame,
} from "../../packages/protocol/src/index";
import { BROWSER_SOCKET_LIMIT, COMPANION_SOCKET_LIMIT } from "../../apps/console/src/server/instances/frame-budget";
import { startLocalConsole } from "../../apps/console/test/helpers/local-console";
import { client } from "../../apps/console/test/helpers/http";
import {
  browserSocket,
  companionStateDir,
  connected,
  eventually,
  makeInstance,
  signGrantBundle,
  signUpKeyed,
  type KeyedAccount,
} from "../../apps/console/test/helpers/instances";
import { consoleNodeFlags, spawnBundledCompanion } from "./companion-bundle";
import { forkLib, nextMessage, stopFork } from "./fleet-fixtures";
import { stopChild, Waiters, type Socket } from "./relay-common";
import { Pacer } from "./relay-load";
import { PROFILE, spawnProfiledCompanion } from "./relay-profile";

export const SOCKETS = 16;
/**
 * Client-side pacing under the console's token buckets (apps/console/src/server/instances/
 * frame-budget.ts): a pacer at 95% of a bucket's rate with a burst below the bucket's is never
 * refused. (A refused frame would leave a gap in the Noise nonces and end the session.)
 */
const PER_SOCKET_FRAMES = { perSecond: BROWSER_SOCKET_LIMIT.framesPerSec * 0.95, burst: 100 };
const PER_COMPANION_FRAMES = { perSecond: COMPANION_SOCKET_LIMIT.framesPerSec * 0.95, burst: 200 };

/**
 * Request expiry. The companion remembers every request id until it expires, at most 50,000 per
 * account (replay-cache.ts), so one account's sustained rate is at most 50,000 / TTL: the
 * browser's 60 s allows ~830 requests/s, far above what a page sends. The benchmarks, all one
 * account, use 2 s (25,000/s); relay.ts, which reaches ~21,000 round trips/s with 20 in flight,
 * sets RELAY_TTL_MS.
 */
const REQUEST_TTL_MS = 2_000;
/** relay.ts's request expiry (see REQUEST_TTL_MS): ~50,000 round trips/s. */
export const RELAY_TTL_MS = 1_000;

/** Time the browser end spends sealing requests and opening (and parsing) answers. */
let browserCryptoMs = 0;
export const browserCryptoTime = (): number => browserCryptoMs;

const outboxes = new WeakMap<Socket, AckedOutbox>();
/**
 * Frames to the console from one browser socket, batched per turn as the browser's channel
 * batches them (apps/console/src/client/instances/e2e-channel.ts); shared by the sessions the
 * socket carries.
 */
function outboxOf(socket: Socket): AckedOutbox {
  let outbox = outboxes.get(socket);
  if (!outbox) {
    outbox = clientOutbox(socket);
    outboxes.set(socket, outbox);
  }
  return outbox;
}

/** Sends one frame through the socket's outbox; rejects when the console refuses it. */
export async function sendBatched(socket: Socket, frame: TRelayFrame): Promise<void> {
  const ack = await outboxOf(socket).send(frame);
  if (!ack.ok) throw new Error(`relay refused: ${ack.error.code}`);
}

/** The browser end of one E2E session (as the console's browser code does, minus the UI). */
export class BrowserSession {
  readonly sessionId = toBase64Url(randomBytes(16));
  readonly pacer = new Pacer(PER_SOCKET_FRAMES.perSecond, PER_SOCKET_FRAMES.burst);
  readonly #answers = new Waiters<TE2EResponse>();
  /** Request expiry; the browser's is 60 s, see REQUEST_TTL_MS for why the benchmarks use less. */
  ttlMs = REQUEST_TTL_MS;
  /** Subscription events and ends (live streams), as they arrive. */
  onEvent: ((msg: TE2EResponse & { kind: "event" | "end" }) => void) | undefined;
  #session: Session | undefined;
  #handshake: ((f: TRelayFrame) => void) | undefined;

  constructor(
    readonly socket: Socket,
    readonly instanceId: string,
  ) {
    onRelayFrames(
      socket,
      (raw) => {
        const f = raw as TRelayFrame;
        if (f.sessionId !== this.sessionId) return;
        if (f.kind !== "transport" || !this.#session) return this.#handshake?.(f);
        const t = performance.now();
        const msg = parseE2EResponse(JSON.parse(fromUtf8(this.#session.open(fromBase64Url(f.frame)))));
        if (!msg) throw new Error("malformed answer");
        browserCryptoMs += performance.now() - t;
        if ((msg.kind === "result" || msg.kind === "error") && msg.id !== null) this.#answers.settle(msg.id, msg);
        if (msg.kind === "event" || msg.kind === "end") this.onEvent?.(msg);
      },
      () => outboxOf(socket).hold(),
    );
  }

  async open(account: KeyedAccount, instanceBoxPublicKey: Uint8Array, bundleJson: string): Promise<void> {
    // libsodium's AEAD in front of @noble, as the browser's channel loads it (e2e-channel.ts).
    await useSodiumAead();
    const pending = initiateSession({
      protocolVersion: SESSION_PROTOCOL_VERSION,
      instanceId: this.instanceId,
      accountId: account.userId,
      accountSecretKey: account.box.privateKey,
      instancePublicKey: instanceBoxPublicKey,
    });
    const reply = new Promise<TRelayFrame>((resolve) => (this.#handshake = resolve));
    await this.pacer.take();
    const handshake: TRelayFrame = {
      instanceId: this.instanceId,
      sessionId: this.sessionId,
      kind: "handshake",
      frame: toBase64Url(encodeSessionOpen(bundleJson, pending.message)),
    };
    // The console meters session opens per account (40/s, bursts of 80): opening hundreds at once
    // waits for the budget, as a browser would.
    for (let attempt = 0; ; attempt++) {
      try {
        await sendBatched(this.socket, handshake);
        break;
      } catch (error) {
        if (attempt >= 200 || !String(error).includes("rate_limited")) throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
    const f = await reply;
    if (f.kind !== "handshake") throw new Error(`session refused: ${fromUtf8(fromBase64Url(f.frame))}`);
    this.#session = pending.finish(fromBase64Url(f.frame)).session;
  }

  /** The sealed request frame, and the promise of its answer (registered before sending). */
  seal(type: string, body: unknown = {}): { frame: TRelayFrame; answer: Promise<TE2EResponse> } {
    if (!this.#session) throw new Error("not open");
    const t = performance.now();
    const id = randomUUID();
    // A short expiry: see REQUEST_TTL_MS.
    const plain = { kind: "request", id, expiresAt: Date.now() + this.ttlMs, type, body };
    const frame = toBase64Url(this.#session.seal(utf8(JSON.stringify(plain))));
    browserCryptoMs += performance.now() - t;
    return {
      frame: { instanceId: this.instanceId, sessionId: this.sessionId, kind: "transport", frame },
      answer: this.#answers.wait(id),
    };
  }

  /** Acknowledges push stream `subscriptionId` up to event `seq` (flow control), as the browser's channel does. */
  async ack(subscriptionId: string, seq: number): Promise<void> {
    if (!this.#session) throw new Error("not open");
    const frame = toBase64Url(this.#session.seal(utf8(JSON.stringify({ kind: "ack", subscriptionId, seq }))));
    await sendBatched(this.socket, {
      instanceId: this.instanceId,
      sessionId: this.sessionId,
      kind: "transport",
      frame,
    });
  }

  async request(type: string, body: unknown = {}): Promise<TE2EResponse> {
    const { frame, answer } = this.seal(type, body);
    await Promise.all([sendBatched(this.socket, frame), answer]);
    return answer;
  }
}

/** The console, in this process or its own: what the benchmarks need of it. */
export interface ConsoleHandle {
  readonly httpsPort: number;
  readonly certificate: { readonly certPem: string };
  /** The console's own process, when it has one (its CPU is then measured apart). */
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/** The console and what the run has to close: child processes and client sockets. */
export interface Rig {
  readonly consoleNode: ConsoleHandle;
  readonly dataDir: string;
  readonly stateDir: string;
  readonly children: ChildProcess[];
  readonly sockets: Socket[];
  /** The console's child process, when it has its own. */
  readonly consoleProcess?: ChildProcess;
}

/**
 * A fresh console on PGlite with HTTP rate limits lifted. `consoleProcess` runs it in a child
 * process (lib/fleet-console.ts), so it does not share an event loop with the browser ends.
 */
export async function startRig(options: { consoleProcess?: boolean } = {}): Promise<Rig> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "veil-bench-relay-"));
  const stateDir = companionStateDir();
  if (options.consoleProcess) {
    const child = forkLib("fleet-console.ts", [dataDir, "0"], consoleNodeFlags());
    const { port, certPem } = await nextMessage<{ port: number; certPem: string }>(child, "ready");
    const consoleNode: ConsoleHandle = {
      httpsPort: port,
      certificate: { certPem },
      pid: child.pid,
      close: () => stopFork(child),
    };
    return { consoleNode, dataDir, stateDir, children: [], sockets: [], consoleProcess: child };
  }
  const running = await startLocalConsole({ dataDir, port: 0 });
  const consoleNode: ConsoleHandle = {
    httpsPort: running.httpsPort,
    certificate: running.certificate,
    pid: undefined,
    close: () => running.close(),
  };
  return { consoleNode, dataDir, stateDir, children: [], sockets: [] };
}

/** An admin with real keys, an instance made in "browser" code, its companion state enrolled with the real CLI. */
export async function enrollInstance(rig: Rig) {
  const { consoleNode, stateDir, children } = rig;
  const api = client(consoleNode.httpsPort, consoleNode.certificate.certPem);
  const admin = await signUpKeyed(api, "admin@example.test");
  const inst = await makeInstance(admin, "bench site");
  const created = await api("/api/instances", { body: inst.body, token: admin.token });
  if (created.status !== 201) throw new Error(`instance: ${created.status} ${created.text}`);
  const info = (await api("/api/companion-info", { token: admin.token })).json as TCompanionInfoResponse;
  const enrollment = encodeEnrollment({
    consoleUrl: info.consoleUrl,
    instanceId: inst.instanceId,
    token: inst.token,
    signerFingerprint: toBase64Url(fingerprint(admin.identity.publicKey)),
    consolePin: info.consolePin,
  });
  const enroll = spawnBundledCompanion("enroll", stateDir, { VEIL_ENROLL: enrollment });
  children.push(enroll);
  if ((await enroll.exit) !== 0) throw new Error(`enroll failed:\n${enroll.output()}`);
  const bundleJson = JSON.stringify(signGrantBundle(admin, admin, inst.instanceId, "admin"));
  /** Waits until the console lists the instance online. */
  const online = (output: () => string) =>
    eventually(
      async () =>
        ((await api(`/api/instances/${inst.instanceId}`, { token: admin.token })).json as TInstanceResponse).instance
          .presence.online,
      20_000,
      "companion online",
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${output()}`);
    });
  /** A browser socket with one E2E session open as the admin. */
  const openSession = async (): Promise<BrowserSession> => {
    const s = browserSocket(consoleNode.httpsPort, consoleNode.certificate.certPem, admin.token);
    rig.sockets.push(s);
    await connected(s);
    const session = new BrowserSession(s, inst.instanceId);
    await session.open(admin, inst.box.publicKey, bundleJson);
    return session;
  };
  return { api, admin, inst, online, openSession };
}

/** Admin with real keys, instance made in "browser" code, real companion online, SOCKETS sessions. */
export async function setUpVeil(rig: Rig) {
  const { consoleNode, dataDir, stateDir, children } = rig;
  const ca = consoleNode.certificate.certPem;
  const { inst, online, openSession } = await enrollInstance(rig);
  const profileDir = path.join(dataDir, "profiles");
  const companion = PROFILE ? spawnProfiledCompanion(stateDir, profileDir) : spawnBundledCompanion("run", stateDir);
  children.push(companion);
  await online(companion.output);
  const one = await openSession();
  const sample = one.seal("ping");
  const requestBytes = sample.frame.frame.length;
  let answerBytes = 0;
  const sizer = (fs: TRelayFrame[]) => (answerBytes = fs[0]?.frame.length ?? 0);
  one.socket.once("e2e:frames", sizer);
  await Promise.all([sendBatched(one.socket, sample.frame), sample.answer]);
  if ((await sample.answer).kind !== "result") throw new Error(`ping: ${JSON.stringify(await sample.answer)}`);
  const many = [one];
  for (let i = 1; i < SOCKETS; i++) many.push(await openSession());
  return { ca, instanceId: inst.instanceId, companion, profileDir, one, many, requestBytes, answerBytes };
}

/** What setUpVeil made: the enrolled companion, the browser sessions and the frame sizes. */
export type VeilSetUp = Awaited<ReturnType<typeof setUpVeil>>;

/** A paced ping: waits for the companion's and the session's frame budgets, then times the round trip. */
export function pacedPing(): { ping: (session: BrowserSession) => Promise<number>; companionPacer: Pacer } {
  const companionPacer = new Pacer(PER_COMPANION_FRAMES.perSecond, PER_COMPANION_FRAMES.burst);
  const ping = async (session: BrowserSession): Promise<number> => {
    // Awaited only when there is a wait: the bare relay's client has no pacing to pay for.
    const companionWait = companionPacer.take();
    const sessionWait = session.pacer.take();
    if (companionWait || sessionWait) await Promise.all([companionWait, sessionWait]);
    const t = performance.now();
    const r = await session.request("ping");
    if (r.kind !== "result") throw new Error(`ping: ${JSON.stringify(r)}`);
    return performance.now() - t;
  };
  return { ping, companionPacer };
}

/** Stops the companion, then the console; removes the console's data and the companion's state. */
export async function tearDown(rig: Rig): Promise<void> {
  for (const child of rig.children) await stopChild(child);
  await rig.consoleNode.close();
  rmSync(rig.dataDir, { recursive: true, force: true });
  rmSync(rig.stateDir, { recursive: true, force: true });
}
