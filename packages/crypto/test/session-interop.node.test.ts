// The session over node:crypto primitives: byte-identical to the noble path (same regression
// vector), and a browser on noble talks to a companion on node:crypto.
import { describe, expect, it } from "vitest";
import { noblePrimitives } from "../src/primitives/index";
import { nodePrimitives } from "../src/primitives/node";
import { acceptSession, initiateSession, type NoisePrimitives } from "../src/session/index";
import { account, binding, instance, toHex, utf8 } from "./session-fixtures";

function run(browserPrims: NoisePrimitives, companionPrims: NoisePrimitives): string[] {
  const rekeyInterval = 2;
  const pending = initiateSession({
    ...binding,
    accountSecretKey: account.secretKey,
    instancePublicKey: instance.publicKey,
    ephemeralSecretKey: new Uint8Array(32).fill(0x33),
    payload: utf8("hello"),
    rekeyInterval,
    primitives: browserPrims,
  });
  const incoming = acceptSession({
    ...binding,
    instanceSecretKey: instance.secretKey,
    accountPublicKey: account.publicKey,
    message: pending.message,
    ephemeralSecretKey: new Uint8Array(32).fill(0x44),
    rekeyInterval,
    primitives: companionPrims,
  });
  const { message, session: companion } = incoming.respond(utf8("welcome"));
  const { session: browser } = pending.finish(message);
  const out: string[] = [toHex(pending.message), toHex(message), toHex(browser.handshakeHash)];
  // Five frames each way: crosses two rekeys per direction.
  for (let i = 0; i < 5; i++) {
    for (const [from, to, label] of [
      [browser, companion, "b"],
      [companion, browser, "c"],
    ] as const) {
      const f = from.seal(utf8(`${label}${i}`));
      expect(toHex(to.open(f))).toBe(toHex(utf8(`${label}${i}`)));
      out.push(toHex(f));
    }
  }
  return out;
}

describe("session: noble and node:crypto primitives", () => {
  it("produce byte-identical handshakes and frames", () => {
    const a = run(noblePrimitives, noblePrimitives);
    const b = run(nodePrimitives, nodePrimitives);
    expect(b).toEqual(a);
    expect(a[2]).toBe("20b6ab9424fea905abf73f98472dab600ade70e3a4972cf0823e97fc17ecc6cd");
  });

  it("interoperate: browser on noble, companion on node:crypto, and the reverse", () => {
    expect(run(noblePrimitives, nodePrimitives)).toEqual(run(nodePrimitives, noblePrimitives));
  });
});
