// Cacophony Noise vectors (mcginty/snow tests/vectors, filtered copy in ../shared/vectors/noise):
// every handshake and transport message and the handshake hash, for KK and IK over SHA256 and
// BLAKE2s. The file is read in place, never copied into the project; without it this suite skips.
import { blake2s } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { describe, expect, it } from "vitest";
import { noblePrimitives } from "../src/primitives/index";
import { nodePrimitives } from "../src/primitives/node";
import { HandshakeState, type CipherState, type NoiseHash, type NoisePatternName } from "../src/session/noise";
import { loadSharedText } from "./vectors/load";

// null only when the whole ../shared/vectors folder is absent (load.ts says so once); with the
// folder present, a missing or unreadable file throws here and the file fails (review finding 7).
const text = await loadSharedText("noise/cacophony-25519-chachapoly.json");
const present = text !== null;

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_static?: string;
  resp_ephemeral: string;
  resp_remote_static?: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const opt = (s: string | undefined): Uint8Array | undefined => (s === undefined ? undefined : hex(s));

const BLAKE2S: NoiseHash = {
  name: "BLAKE2s",
  hashLen: 32,
  hash: (d) => blake2s(d),
  hmac: (k, d) => hmac(blake2s, k, d),
};

const vectors: Vector[] = text === null ? [] : (JSON.parse(text) as { vectors: Vector[] }).vectors;
const NAME = /^Noise_(KK|IK)_25519_ChaChaPoly_(SHA256|BLAKE2s)$/;

// Skipped only when ../shared/vectors is absent (a user's fresh clone); the loader fails on any
// other read error, and the independently computed regression vector in session-handshake.test.ts always runs.
describe.skipIf(!present)("Noise cacophony vectors", () => {
  it("the file holds exactly the 5 filtered vectors: KK and IK over SHA256 and BLAKE2s (checked), XX (not implemented)", () => {
    const names = vectors.map((v) => v.protocol_name).sort();
    expect(names).toEqual([
      "Noise_IK_25519_ChaChaPoly_BLAKE2s",
      "Noise_IK_25519_ChaChaPoly_SHA256",
      "Noise_KK_25519_ChaChaPoly_BLAKE2s",
      "Noise_KK_25519_ChaChaPoly_SHA256",
      "Noise_XX_25519_ChaChaPoly_SHA256",
    ]);
    expect(vectors.filter((v) => NAME.test(v.protocol_name))).toHaveLength(4);
  });

  for (const v of vectors) {
    const m = NAME.exec(v.protocol_name);
    if (m === null) {
      // Noise_XX is in the shared file but not a pattern Veil uses: not implemented here.
      it.skip(`${v.protocol_name} (pattern not implemented)`, () => {});
      continue;
    }
    const pattern = m[1] as NoisePatternName;
    const hash = m[2] === "BLAKE2s" ? BLAKE2S : undefined;
    for (const primitives of [noblePrimitives, nodePrimitives])
      it(`${v.protocol_name} (${primitives.name})`, () => {
        const initiator = new HandshakeState({
          pattern,
          initiator: true,
          prologue: hex(v.init_prologue),
          staticSecretKey: opt(v.init_static),
          remoteStaticKey: opt(v.init_remote_static),
          ephemeralSecretKey: hex(v.init_ephemeral),
          hash,
          primitives,
        });
        const responder = new HandshakeState({
          pattern,
          initiator: false,
          prologue: hex(v.resp_prologue),
          staticSecretKey: opt(v.resp_static),
          remoteStaticKey: opt(v.resp_remote_static),
          ephemeralSecretKey: hex(v.resp_ephemeral),
          hash,
          primitives,
        });
        expect(initiator.protocolName).toBe(v.protocol_name);
        let i = 0;
        for (; !initiator.isComplete; i++) {
          const msg = v.messages[i];
          if (msg === undefined) throw new Error("vector ends inside the handshake");
          const [w, r] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
          const ct = w.writeMessage(hex(msg.payload));
          expect(toHex(ct), `handshake message ${i}`).toBe(msg.ciphertext);
          expect(toHex(r.readMessage(ct))).toBe(msg.payload);
        }
        expect(responder.isComplete).toBe(true);
        expect(toHex(initiator.getHandshakeHash())).toBe(v.handshake_hash);
        expect(toHex(responder.getHandshakeHash())).toBe(v.handshake_hash);
        const a = initiator.split();
        const b = responder.split();
        const send = (c: CipherState, d: CipherState, payload: string, ciphertext: string, label: string): void => {
          const ct = c.encryptWithAd(new Uint8Array(0), hex(payload));
          expect(toHex(ct), label).toBe(ciphertext);
          expect(toHex(d.decryptWithAd(new Uint8Array(0), ct))).toBe(payload);
        };
        for (; i < v.messages.length; i++) {
          const msg = v.messages[i];
          if (msg === undefined) break;
          if (i % 2 === 0)
            send(a.initiatorToResponder, b.initiatorToResponder, msg.payload, msg.ciphertext, `transport ${i}`);
          else send(b.responderToInitiator, a.responderToInitiator, msg.payload, msg.ciphertext, `transport ${i}`);
        }
        expect(i).toBeGreaterThan(2);
      });
  }
});
