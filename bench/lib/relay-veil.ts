// The Veil side: the real console (in-process, rate limits lifted), a real companion enrolled with
// the real CLI (child process, as apps/console/test/companion-relay.test.ts runs it), and browser
// ends that open a Noise_KK session from @veil/crypto exactly as the browser does.
import type { ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { initiateSession, fingerprint, fromBase64Url, fromUtf8, toBase64Url, utf8, type Session } from "@veil/crypto";
import {
  encodeEnrollment,
  encodeSessionOpen,
  PROTOCOL_VERSION,
  ZE2EResponseSchema,
  type TCompanionInfoResponse,
  type TInstanceResponse,
  type TE2EResponse,
  type TRelayFrame,
} from "../../packages/protocol/src/index";
import { DEFAULT_RATE_LIMITS } from "../../apps/console/src/server/config";
import { startConsole } from "../../apps/console/src/server/start-console";
import { client } from "../../apps/console/test/helpers/http";
import {
  browserSocket,
  companionStateDir,
  connected,
  eventually,
  makeInstance,
  signGrantBundle,
  signUpKeyed,
  spawnCompanion,
  type KeyedAccount,
} from "../../apps/console/test/helpers/instances";
import { emitFrame, stopChild, Waiters, type Socket } from "./relay-common";
import { Pacer } from "./relay-load";
import { PROFILE, spawnProfiledCompanion } from "./relay-profile";

export const SOCKETS = 16;
/** Client-side pacing under the console's budgets of 200 and 2,000 frames/s (rate + burst + 1 ≤ budget). */
const PER_SOCKET_FRAMES = { perSecond: 185, burst: 10 };
const PER_COMPANION_FRAMES = { perSecond: 1_900, burst: 40 };

/** Time the browser end spends sealing requests and opening (and parsing) answers. */
let browserCryptoMs = 0;
export const browserCryptoTime = (): number => browserCryptoMs;

/** The browser end of one E2E session (as the console's browser code does, minus the UI). */
export class BrowserSession {
  readonly sessionId = toBase64Url(randomBytes(16));
  readonly pacer = new Pacer(PER_SOCKET_FRAMES.perSecond, PER_SOCKET_FRAMES.burst);
  readonly #answers = new Waiters<TE2EResponse>();
  #session: Session | undefined;
  #handshake: ((f: TRelayFrame) => void) | undefined;

  constructor(
    readonly socket: Socket,
    readonly instanceId: string,
  ) {
    socket.on("e2e:frame", (f: TRelayFrame) => {
      if (f.sessionId !== this.sessionId) return;
      if (f.kind !== "transport" || !this.#session) return this.#handshake?.(f);
      const t = performance.now();
      const msg = ZE2EResponseSchema.parse(JSON.parse(fromUtf8(this.#session.open(fromBase64Url(f.frame)))));
      browserCryptoMs += performance.now() - t;
      if ((msg.kind === "result" || msg.kind === "error") && msg.id !== null) this.#answers.settle(msg.id, msg);
    });
  }

  async open(account: KeyedAccount, instanceBoxPublicKey: Uint8Array, bundleJson: string): Promise<void> {
    const pending = initiateSession({
      protocolVersion: PROTOCOL_VERSION,
      instanceId: this.instanceId,
      accountId: account.userId,
      accountSecretKey: account.box.privateKey,
      instancePublicKey: instanceBoxPublicKey,
    });
    const reply = new Promise<TRelayFrame>((resolve) => (this.#handshake = resolve));
    await this.pacer.take();
    await emitFrame(this.socket, {
      instanceId: this.instanceId,
      sessionId: this.sessionId,
      kind: "handshake",
      frame: toBase64Url(encodeSessionOpen(bundleJson, pending.message)),
    });
    const f = await reply;
    if (f.kind !== "handshake") throw new Error(`session refused: ${fromUtf8(fromBase64Url(f.frame))}`);
    this.#session = pending.finish(fromBase64Url(f.frame)).session;
  }

  /** The sealed request frame, and the promise of its answer (registered before sending). */
  seal(type: string): { frame: TRelayFrame; answer: Promise<TE2EResponse> } {
    if (!this.#session) throw new Error("not open");
    const t = performance.now();
    const id = randomUUID();
    const plain = { kind: "request", id, expiresAt: Date.now() + 10_000, type, body: {} };
    const frame = toBase64Url(this.#session.seal(utf8(JSON.stringify(plain))));
    browserCryptoMs += performance.now() - t;
    return {
      frame: { instanceId: this.instanceId, sessionId: this.sessionId, kind: "transport", frame },
      answer: this.#answers.wait(id),
    };
  }

  async request(type: string): Promise<TE2EResponse> {
    const { frame, answer } = this.seal(type);
    await Promise.all([emitFrame(this.socket, frame), answer]);
    return answer;
  }
}

/** The console and what the run has to close: child processes and client sockets. */
export interface Rig {
  readonly consoleNode: Awaited<ReturnType<typeof startConsole>>;
  readonly dataDir: string;
  readonly stateDir: string;
  readonly children: ChildProcess[];
  readonly sockets: Socket[];
}

export async function startRig(): Promise<Rig> {
  const unlimited = { perIp: 1e9, perAccount: 1e9, windowSeconds: 60 };
  const dataDir = mkdtempSync(path.join(tmpdir(), "veil-bench-relay-"));
  const stateDir = companionStateDir();
  const consoleNode = await startConsole({
    port: 0,
    host: "127.0.0.1",
    httpPort: null,
    informPort: null,
    dataDir,
    databaseUrl: null,
    ui: false,
    banner: false,
    log: () => undefined,
    rateLimits: {
      ...DEFAULT_RATE_LIMITS,
      login: unlimited,
      signup: unlimited,
      apiRead: unlimited,
      apiWrite: unlimited,
    },
  });
  return { consoleNode, dataDir, stateDir, children: [], sockets: [] };
}

/** Admin with real keys, instance made in "browser" code, real companion online, SOCKETS sessions. */
export async function setUpVeil(rig: Rig) {
  const { consoleNode, dataDir, stateDir, children, sockets } = rig;
  const api = client(consoleNode.httpsPort, consoleNode.certificate.certPem);
  const ca = consoleNode.certificate.certPem;
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
  const profileDir = path.join(dataDir, "profiles");
  const quiet = { VEIL_LOG_LEVEL: "warn" };
  const enroll = spawnCompanion("enroll", stateDir, { VEIL_ENROLL: enrollment, ...quiet });
  children.push(enroll);
  if ((await enroll.exit) !== 0) throw new Error(`enroll failed:\n${enroll.output()}`);
  const companion = PROFILE ? spawnProfiledCompanion(stateDir, profileDir) : spawnCompanion("run", stateDir, quiet);
  children.push(companion);
  await eventually(
    async () =>
      ((await api(`/api/instances/${inst.instanceId}`, { token: admin.token })).json as TInstanceResponse).instance
        .presence.online,
    20_000,
    "companion online",
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${companion.output()}`);
  });
  const bundleJson = JSON.stringify(signGrantBundle(admin, admin, inst.instanceId, "admin"));
  const openSession = async (): Promise<BrowserSession> => {
    const s = browserSocket(consoleNode.httpsPort, ca, admin.token);
    sockets.push(s);
    await connected(s);
    const session = new BrowserSession(s, inst.instanceId);
    await session.open(admin, inst.box.publicKey, bundleJson);
    return session;
  };
  const one = await openSession();
  const sample = one.seal("ping");
  const requestBytes = sample.frame.frame.length;
  let answerBytes = 0;
  const sizer = (f: TRelayFrame) => (answerBytes = f.frame.length);
  one.socket.once("e2e:frame", sizer);
  await Promise.all([emitFrame(one.socket, sample.frame), sample.answer]);
  if ((await sample.answer).kind !== "result") throw new Error(`ping: ${JSON.stringify(await sample.answer)}`);
  const many = [one];
  for (let i = 1; i < SOCKETS; i++) many.push(await openSession());
  return { ca, instanceId: inst.instanceId, companion, profileDir, one, many, requestBytes, answerBytes };
}

/** A paced ping: waits for the companion's and the session's frame budgets, then times the round trip. */
export function pacedPing(): { ping: (session: BrowserSession) => Promise<number>; companionPacer: Pacer } {
  const companionPacer = new Pacer(PER_COMPANION_FRAMES.perSecond, PER_COMPANION_FRAMES.burst);
  const ping = async (session: BrowserSession): Promise<number> => {
    await companionPacer.take();
    await session.pacer.take();
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
