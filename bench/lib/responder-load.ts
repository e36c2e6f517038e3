// Child of bench/responder.ts, bundled by the companion's own build.mjs (lib/companion-bundle.ts)
// and run with plain node, as the installed companion runs. Times the companion's request path
// one ping at a time, warm: the real Responder (apps/companion/src/e2e/responder.ts) with the
// primitives `veil-companion run` selects (node:crypto, libsodium for small AEAD messages), handed
// the relay frame of a sealed ping and sending the relay frame of its answer. The baseline, in the same process and the same rounds:
// the AEAD alone, a Noise transport session opening the same kind of frame and sealing an answer
// of the same size. Prints one JSON line.
import { randomUUID } from "node:crypto";
import { useFastestPrimitives } from "@veil/crypto/node";
import {
  acceptSession,
  boxPrivateKey,
  fromBase64Url,
  initiateSession,
  toBase64Url,
  utf8,
  type Session,
} from "../../apps/companion/src/crypto";
import { encodeSessionOpen, SESSION_PROTOCOL_VERSION, type TRelayFrame } from "../../apps/companion/src/protocol";
import { systemClock } from "../../apps/companion/src/clock";
import { Responder } from "../../apps/companion/src/e2e/responder";
import { createRequestHandlers } from "../../apps/companion/src/e2e/requests/create-handlers";
import { silentLogger } from "../../apps/companion/src/log";
import { makeAccount, signGrant } from "../../apps/companion/test/harness/fixtures";

/**
 * Pings per round. All of them come from one account within their expiry, and the replay record
 * remembers at most 50,000 ids per account (DEFAULT_REPLAY_LIMITS): past that the companion
 * answers `rate_limited`, a cheaper path. So every round together stays under it.
 */
const PINGS = Math.min(Number(process.env.VEIL_BENCH_PINGS ?? 10_000), 12_000);
const ROUNDS = 3;
await useFastestPrimitives();

const instanceId = randomUUID();
const admin = makeAccount();
const instanceBox = makeAccount().box;
const account = makeAccount();
const out: TRelayFrame[] = [];
const responder = new Responder({
  instanceId,
  boxPrivateKey: instanceBox.privateKey,
  signer: admin.identity.publicKey,
  handlers: createRequestHandlers({ rotateToken: () => Promise.resolve("unused") }),
  send: (frame) => out.push(frame),
  clock: systemClock,
  logger: silentLogger,
});

/** The browser end's side of a Noise_KK handshake with the instance. */
const initiate = () =>
  initiateSession({
    protocolVersion: SESSION_PROTOCOL_VERSION,
    instanceId,
    accountId: account.accountId,
    accountSecretKey: account.box.privateKey,
    instancePublicKey: instanceBox.publicKey,
  });

/** A browser end's session with the responder (its handshake through handleFrame). */
function openWithResponder(): { sessionId: string; session: Session } {
  const sessionId = toBase64Url(new Uint8Array(16).fill(7));
  const pending = initiate();
  const bundle = signGrant({ signer: admin, account, instanceId, role: "admin", expiresAt: Date.now() + 3_600_000 });
  const open = encodeSessionOpen(JSON.stringify(bundle), pending.message);
  responder.handleFrame({ instanceId, sessionId, kind: "handshake", frame: toBase64Url(open) });
  const reply = out.shift();
  if (reply?.kind !== "handshake") throw new Error("no handshake reply");
  return { sessionId, session: pending.finish(fromBase64Url(reply.frame)).session };
}

/** Both ends of a bare Noise transport session, for the baseline. */
function sessionPair(): { initiator: Session; responder: Session } {
  const pending = initiate();
  const accepted = acceptSession({
    protocolVersion: SESSION_PROTOCOL_VERSION,
    instanceId,
    accountId: account.accountId,
    instanceSecretKey: boxPrivateKey(instanceBox.privateKey),
    accountPublicKey: account.box.publicKey,
    message: pending.message,
  }).respond(new Uint8Array(0));
  return { initiator: pending.finish(accepted.message).session, responder: accepted.session };
}

const ping = (): Uint8Array =>
  utf8(JSON.stringify({ kind: "request", id: randomUUID(), expiresAt: Date.now() + 600_000, type: "ping", body: {} }));

const live = openWithResponder();
const pair = sessionPair();
// Every frame sealed before any timing (the browser end's work is not measured here).
const total = PINGS * (ROUNDS + 1);
const veilFrames: TRelayFrame[] = Array.from({ length: total }, () => ({
  instanceId,
  sessionId: live.sessionId,
  kind: "transport",
  frame: toBase64Url(live.session.seal(ping())),
}));
const bareFrames = Array.from({ length: total }, () => pair.initiator.seal(ping()));
responder.handleFrame(veilFrames[0] as TRelayFrame);
// Every answer to a ping is a result of this length (its id and timestamp have fixed lengths);
// an error (rate_limited, duplicate) would have another.
const resultFrame = (out.shift() as TRelayFrame).frame;
const answerBytes = fromBase64Url(resultFrame).length - 25; // minus header and tag
const answer = new Uint8Array(answerBytes).fill(0x20);

let next = 1;
function veilRound(count: number): number {
  const t = performance.now();
  for (let i = 0; i < count; i++) responder.handleFrame(veilFrames[next++] as TRelayFrame);
  const ms = performance.now() - t;
  if (out.length !== count) throw new Error(`${out.length} answers to ${count} pings (a handler went async?)`);
  if (out.some((f) => f.frame.length !== resultFrame.length)) throw new Error("an answer was not a ping's result");
  out.length = 0;
  return ms;
}
let nextBare = 0;
function bareRound(count: number): number {
  const t = performance.now();
  for (let i = 0; i < count; i++) {
    pair.responder.open(bareFrames[nextBare++] as Uint8Array);
    pair.responder.seal(answer);
  }
  return performance.now() - t;
}

veilRound(PINGS - 1); // warm-up
bareRound(PINGS);
let veilMs = 0;
let bareMs = 0;
for (let r = 0; r < ROUNDS; r++) {
  veilMs += veilRound(PINGS);
  bareMs += bareRound(PINGS);
}
const per = (ms: number): number => (ms * 1000) / (PINGS * ROUNDS);
console.log(JSON.stringify({ pings: PINGS * ROUNDS, veilUs: per(veilMs), aeadUs: per(bareMs), answerBytes }));
