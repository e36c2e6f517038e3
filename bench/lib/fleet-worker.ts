// Child process of bench/companions.ts (forked, IPC with structured clone): holds a share of the
// fleet. It runs the real companion code, many per process (1,000 processes do not fit):
//  - enroll: per host, the instance as the admin's browser makes it (console test helper:
//    keys, one Argon2id of the token, certificate), POST /api/instances, then the companion's
//    own `enroll` (enrollCommand: authenticate, unwrap, verify the certificate, write the state);
//    its KDF is handed the browser's result for the same token, params and salt (as the
//    companion tests memoise it), so each host costs one Argon2id instead of two.
//  - run: startCompanion per state folder (supervisor, pinned transport, responder), devices off.
//  - bare: plain socket.io clients for the baseline hub, one per host, answering every frame.
import { useFastestPrimitives } from "@veil/crypto/node";
import { fingerprint, toBase64Url } from "@veil/crypto";
import { enrollCommand } from "../../apps/companion/src/cli/enroll-command";
import { createJsonLogger } from "../../apps/companion/src/log";
import { startCompanion, type RunningCompanion } from "../../apps/companion/src/run/start-companion";
import { StateStore } from "../../apps/companion/src/state/state-store";
import { client } from "../../apps/console/test/helpers/http";
import { makeInstance, type KeyedAccount } from "../../apps/console/test/helpers/instances";
import {
  decodeEnrollment,
  encodeEnrollment,
  type TCompanionInfoResponse,
  type TRelayFrame,
} from "../../packages/protocol/src/index";
import { connect, type Socket } from "./relay-common";

type Message =
  | {
      kind: "enroll";
      items: { index: number; stateDir: string }[];
      admin: KeyedAccount;
      port: number;
      ca: string;
      info: TCompanionInfoResponse;
    }
  | { kind: "run"; stateDirs: string[] }
  | { kind: "bare"; port: number; ca: string; ids: string[]; answerBytes: number }
  | { kind: "count" }
  | { kind: "stop" };

await useFastestPrimitives();
const logger = createJsonLogger({ level: "error" });
const send = (m: unknown): void => void process.send?.(m);
const running: RunningCompanion[] = [];
const bare: Socket[] = [];

async function enroll(m: Extract<Message, { kind: "enroll" }>): Promise<void> {
  const api = client(m.port, m.ca);
  for (const { index, stateDir } of m.items) {
    const inst = await makeInstance(m.admin, `bench-${index}`);
    const created = await api("/api/instances", { body: inst.body, token: m.admin.token });
    if (created.status !== 201) throw new Error(`instance ${index}: ${created.status} ${created.text}`);
    const enrollment = decodeEnrollment(
      encodeEnrollment({
        consoleUrl: m.info.consoleUrl,
        instanceId: inst.instanceId,
        token: inst.token,
        signerFingerprint: toBase64Url(fingerprint(m.admin.identity.publicKey)),
        consolePin: m.info.consolePin,
      }),
    );
    await enrollCommand({
      stateDir,
      enrollment,
      logger,
      // Fresh copies: enrollment wipes the keys it is given.
      deriveTokenKeys: () =>
        Promise.resolve({ authKey: inst.keys.authKey.slice(), wrapKey: inst.keys.wrapKey.slice() } as typeof inst.keys),
    });
    send({ kind: "enrolled", index, instanceId: inst.instanceId, boxPublicKey: toBase64Url(inst.box.publicKey) });
  }
}

async function run(stateDirs: string[]): Promise<void> {
  for (const dir of stateDirs) {
    running.push(startCompanion({ store: new StateStore(dir), logger, snapshots: false }));
    await new Promise((r) => setTimeout(r, 2)); // no thundering herd of TLS handshakes
  }
}

function startBare(m: Extract<Message, { kind: "bare" }>): void {
  for (const id of m.ids) {
    const s = connect(`https://localhost:${m.port}/peer`, {
      transports: ["websocket"],
      ca: m.ca,
      reconnection: false,
      forceNew: true,
      auth: { id },
    });
    s.on("e2e:frame", (f: TRelayFrame) => {
      const frame = f.frame.slice(0, 22) + "a".repeat(Math.max(0, m.answerBytes - 22));
      s.emit("e2e:frame", { ...f, frame }, () => undefined);
    });
    bare.push(s);
  }
}

process.on("message", (m: Message) => {
  const fail = (e: unknown) => send({ kind: "error", message: e instanceof Error ? e.stack : String(e) });
  if (m.kind === "enroll") void enroll(m).then(() => send({ kind: "enroll-done" }), fail);
  else if (m.kind === "run") void run(m.stateDirs).catch(fail);
  else if (m.kind === "bare") startBare(m);
  else if (m.kind === "count")
    send({
      kind: "count",
      connected:
        running.filter((r) => r.supervisor.state === "connected").length + bare.filter((s) => s.connected).length,
    });
  else {
    for (const r of running) r.stop();
    for (const s of bare) s.disconnect();
    void Promise.all(running.map((r) => r.finished)).then(() => process.exit(0));
  }
});
send({ kind: "up" });
