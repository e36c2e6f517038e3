// End-to-end round trips through the console relay against a bare socket.io relay, in one run.
//
// Same topology for both, three processes as in the field (browser, console, site host): this
// process holds the browser end (client A); the relay runs in its own process; the far end (client
// B) in another. Every hop is socket.io over WebSocket over TLS on 127.0.0.1, and frames are
// acknowledged the way the console acknowledges them.
//  - bare: an HTTPS socket.io server (lib/relay-bare-server.ts) forwards `e2e:frame` from A to B
//    and B's answer back to A. No crypto, no checks; frames of the same size as the real
//    encrypted ping and its answer. (lib/relay-bare.ts, far end lib/relay-bare-peer.ts)
//  - Veil: the real console (lib/fleet-console.ts, rate limits lifted) and a real companion
//    enrolled with the real CLI (as apps/console/test/companion-relay.test.ts runs it); the
//    browser end is a Noise_KK session from @veil/crypto exactly as the browser opens it, and
//    every round trip is a sealed `ping` request answered by the companion. (lib/relay-veil.ts)
// Each is measured one request at a time and with IN_FLIGHT requests in flight, for a fixed time
// (lib/relay-load.ts), with the CPU each process spent per round trip.
//
// The console meters relayed frames with token buckets (apps/console/src/server/instances/
// frame-budget.ts: 40,000 frames/s per browser socket, 80,000/s per account and 160,000/s per
// companion socket); a refused frame leaves a gap in the Noise nonce sequence and the companion
// closes the session, so the Veil client paces itself under those budgets. Veil is measured
// twice: through one browser socket (what a browser tab gets) and spread over SOCKETS browser
// sockets.
//
// Run: pnpm --filter @veil/bench exec tsx relay.ts   (VEIL_BENCH_RELAY_MS=<ms per figure>,
//      VEIL_BENCH_SETTLE_MS=<warm-up per case after start-up>)
//      VEIL_BENCH_PROFILE=1 adds CPU profiles of the browser end and the companion, and the two
//      relays' profiles side by side over one more sequential run (lib/relay-profile.ts).
import type { ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import path from "node:path";
import { companionNodeFlags, consoleNodeFlags } from "./lib/companion-bundle";
import { header } from "./lib/measure";
import { stopChild } from "./lib/relay-common";
import { BROWSER_SOCKET_LIMIT } from "../apps/console/src/server/instances/frame-budget";
import { BareRelay } from "./lib/relay-bare";
import {
  DURATION_MS,
  fmtFigure,
  IN_FLIGHT,
  FIRST_WARMUP_MS,
  SETTLE_MS,
  ROUNDS,
  runInterleaved,
  WARMUP_MS,
  type Case,
  type Figure,
} from "./lib/relay-load";
import {
  compareRelays,
  PROFILE,
  perRoundTrip,
  startSelfProfile,
  stopSelfProfile,
  summarize,
  summarizeCompanionProfiles,
  type CpuProfile,
} from "./lib/relay-profile";
import { nextMessage } from "./lib/fleet-fixtures";
import { browserCryptoTime, pacedPing, RELAY_TTL_MS, setUpVeil, SOCKETS, startRig, tearDown } from "./lib/relay-veil";

const load0 = loadavg()[0] ?? 0;
header("relay round trips");
const rig = await startRig({ consoleProcess: true });
let bare: BareRelay | undefined;

/** Each relay process's profile over a run of its case, as self time per round trip. */
async function profileRelays(processes: (ChildProcess | undefined)[], cases: readonly Case[]) {
  const counts = cases.map(() => 0);
  const counted = cases.map((c, i) => ({
    ...c,
    op: (lane: number) => {
      counts[i] = (counts[i] ?? 0) + 1;
      return c.op(lane);
    },
  }));
  for (const p of processes) p?.send({ kind: "profile-start" });
  await runInterleaved(counted, browserCryptoTime);
  const profiles = processes.map(async (p) => {
    if (!p) throw new Error("the relay runs in this process");
    const answer = nextMessage<{ profile: CpuProfile }>(p, "profile");
    p.send({ kind: "profile-stop" });
    return (await answer).profile;
  });
  const [bare, veil] = (await Promise.all(profiles)).map((profile, i) => perRoundTrip(profile, counts[i] ?? 1));
  if (!bare || !veil) throw new Error("two relays expected");
  return [bare, veil] as const;
}

try {
  const t0 = performance.now();
  const veil = await setUpVeil(rig);
  const { one, many, companion } = veil;
  for (const session of [one, ...many]) session.ttlMs = RELAY_TTL_MS;
  console.log(
    `set-up ${((performance.now() - t0) / 1000).toFixed(1)} s: console (PGlite), companion enrolled and online, ${SOCKETS} browser sockets with one E2E session each`,
  );
  console.log(
    `frames: request ${veil.requestBytes} B, answer ${veil.answerBytes} B (base64url of the sealed ping and its result); the bare relay uses the same sizes`,
  );
  console.log(
    `Node flags as shipped: console ${consoleNodeFlags().join(" ") || "none"} (apps/console start), companion ${companionNodeFlags().join(" ") || "none"} (infra/veil-companion.service); the bare relay and far end run with Node's defaults\n`,
  );

  // ----- (a) bare socket.io relay, up beside the Veil rig ------------------------------------
  bare = new BareRelay(path.join(rig.dataDir, "tls"));
  const ends = await bare.startBeside(rig, veil);
  const barePids = { relay: ends.relay.pid, peer: ends.peer.pid };

  // ----- (b) Veil: console + companion + browser E2E sessions --------------------------------
  const { ping, companionPacer } = pacedPing();
  const veilPids = { relay: rig.consoleNode.pid, peer: companion.pid };
  let next = 0;
  const cases = (lanes: number) =>
    [
      { op: () => ends.roundTrip(0), lanes, pids: barePids },
      { op: () => ping(one), lanes, pids: veilPids },
      { op: (lane) => ends.roundTrip(lanes === 1 ? next++ : lane), lanes, pids: barePids },
      { op: (lane) => ping(many[(lanes === 1 ? next++ : lane) % SOCKETS] ?? one), lanes, pids: veilPids },
    ] as const satisfies readonly Case[];
  const [bareSeq, veilOneSeq, bareManySeq, veilManySeq] = await runInterleaved(cases(1), browserCryptoTime, SETTLE_MS);
  const [bareConc, veilOneConc, bareManyConc, veilManyConc] = await runInterleaved(cases(IN_FLIGHT), browserCryptoTime);
  const oneWaits = one.pacer.waits;
  // Profiles (VEIL_BENCH_PROFILE=1): one more in-flight run of the single-socket Veil case.
  const inspector = await startSelfProfile();
  if (inspector) await runInterleaved([cases(IN_FLIGHT)[1]], browserCryptoTime);
  const here = await stopSelfProfile(inspector);
  // And the two relays' own profiles over one more sequential run of bare and Veil, 1 socket.
  const relays = PROFILE ? await profileRelays([ends.relay, rig.consoleProcess], cases(1).slice(0, 2)) : undefined;
  for (const s of ends.clients) s.disconnect();
  await stopChild(ends.peer);
  await bare.close();

  // ----- Report ------------------------------------------------------------------------------
  const load1 = loadavg()[0] ?? 0;
  console.log(
    `${DURATION_MS / 1000} s per figure in ${ROUNDS} interleaved rounds (bare, Veil, bare ×${SOCKETS}, Veil ×${SOCKETS}), each after ${WARMUP_MS} ms of warm-up (before the first: ${SETTLE_MS} ms per case after start-up, ${FIRST_WARMUP_MS} ms later); load ${load0.toFixed(1)} → ${load1.toFixed(1)}`,
  );
  const rows: [string, Figure, Figure][] = [];
  console.log(`\n(a) bare socket.io relay, 1 browser socket`);
  console.log(`  sequential        ${fmtFigure(bareSeq)}`);
  console.log(`  ${IN_FLIGHT} in flight      ${fmtFigure(bareConc)}`);
  console.log(`\n(a') bare socket.io relay, ${SOCKETS} browser sockets, requests spread over them`);
  console.log(`  sequential        ${fmtFigure(bareManySeq)}`);
  console.log(`  ${IN_FLIGHT} in flight      ${fmtFigure(bareManyConc)}`);
  console.log(
    `\n(b) Veil, 1 browser socket, 1 session (console budget ${BROWSER_SOCKET_LIMIT.framesPerSec.toLocaleString("en-US")} frames/s per browser socket)`,
  );
  console.log(`  sequential        ${fmtFigure(veilOneSeq)}`);
  console.log(`  ${IN_FLIGHT} in flight      ${fmtFigure(veilOneConc)}`);
  console.log(`  (${oneWaits} requests waited for the socket's frame budget)`);
  console.log(`\n(b') Veil, ${SOCKETS} browser sockets, 1 session each, requests spread over them`);
  console.log(`  sequential        ${fmtFigure(veilManySeq)}`);
  console.log(`  ${IN_FLIGHT} in flight      ${fmtFigure(veilManyConc)}`);
  console.log(`  (${companionPacer.waits} requests in all waited for the companion's frame budget)`);
  rows.push(
    ["1 socket, sequential", veilOneSeq, bareSeq],
    [`1 socket, ${IN_FLIGHT} in flight`, veilOneConc, bareConc],
    [`${SOCKETS} sockets, sequential`, veilManySeq, bareManySeq],
    [`${SOCKETS} sockets, ${IN_FLIGHT} in flight`, veilManyConc, bareManyConc],
  );
  if (here) summarize(`profile: browser end, 1 socket, ${IN_FLIGHT} in flight`, here);
  if (relays) compareRelays(relays[0], relays[1]);
  if (PROFILE) {
    await stopChild(companion);
    summarizeCompanionProfiles(veil.profileDir);
  }
  console.log(`\nTargets: Veil throughput ≥ 0.70× bare, Veil p99 < 2× bare p99`);
  // The three processes share this machine's cores, so throughput follows their summed CPU; in the
  // field each end runs on its own host and the console's own CPU is what bounds a deployment.
  console.log(`  (CPU: Veil's CPU per round trip vs bare's, the three processes together and the relay alone)`);
  const sum = (f: Figure): number => f.cpuHere + f.cpuRelay + f.cpuPeer;
  // The throughput ratio of each round (Veil's round against bare's round just before it): how
  // far one run's figure moves within the run.
  const spread = (veilFigure: Figure, bareFigure: Figure): string => {
    const ratios = veilFigure.perRound.map((v, i) => v / (bareFigure.perRound[i] ?? Number.NaN)).sort((a, b) => a - b);
    const at = (i: number): string => (ratios[i] ?? Number.NaN).toFixed(2);
    return `median ${at(Math.floor(ratios.length / 2))}, ${at(0)}–${at(ratios.length - 1)}×`;
  };
  for (const [label, veilFigure, bareFigure] of rows) {
    const tput = veilFigure.perSec / bareFigure.perSec;
    const p99 = veilFigure.p99 / bareFigure.p99;
    console.log(
      `  ${label.padEnd(28)} throughput ${tput.toFixed(3)}× ${tput >= 0.7 ? "ok" : "MISSED"} (rounds ${spread(veilFigure, bareFigure)}) · p99 ${p99.toFixed(2)}× ${p99 < 2 ? "ok" : "MISSED"} · CPU ${(sum(veilFigure) / sum(bareFigure)).toFixed(2)}×, relay ${(veilFigure.cpuRelay / bareFigure.cpuRelay).toFixed(2)}×`,
    );
  }
  // A figure the console's frame budget held measures the budget, not the relay's cost: on a fast
  // enough machine the budget's rule (one session at the relay's full speed) needs a new figure.
  const waits = oneWaits + companionPacer.waits;
  if (waits > 0)
    console.log(
      `  NOTE: ${waits.toLocaleString("en-US")} requests waited for a console frame budget; a figure it held measures the budget (docs/PERFORMANCE.md, "The relay's frame budget")`,
    );
} finally {
  for (const s of rig.sockets) s.disconnect();
  await bare?.close();
  await tearDown(rig);
}
