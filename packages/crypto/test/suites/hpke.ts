/**
 * RFC 9180 Appendix A.2 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305), all four
 * modes, parsed from ../shared/vectors/hpke/rfc9180-appendix-A1-A2.md at run time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/encoding";
import { deriveHpkeKeyPair, setupHpkeReceiver, setupSenderWithEphemeral } from "../../src/hpke";
import type { BoxKeyPair, BoxPrivateKey, BoxPublicKey } from "../../src/keys";
import { getPrimitives, setPrimitives } from "../../src/primitives/index";
import type { Primitives } from "../../src/primitives/types";
import { loadSharedText } from "../vectors/load";

type Fields = Record<string, string>;
interface ModeVectors {
  setup: Fields;
  encryptions: Fields[];
  exports: Fields[];
}

/** Parses "key: value" records (values may continue on following lines) out of ~~~ blocks. */
function parseRecords(block: string): Fields[] {
  const records: Fields[] = [];
  let current: Fields = {};
  let last: string | null = null;
  for (const raw of block.split("\n")) {
    const line = raw.trim();
    if (line === "") {
      if (Object.keys(current).length > 0) records.push(current);
      current = {};
      last = null;
      continue;
    }
    const m = /^([A-Za-z_ ]+):\s*(.*)$/.exec(line);
    if (m?.[1] !== undefined) {
      last = m[1];
      current[last] = m[2] ?? "";
    } else if (last !== null) {
      current[last] = (current[last] ?? "") + line;
    }
  }
  if (Object.keys(current).length > 0) records.push(current);
  return records;
}

/** Section A.2's four modes, keyed by heading ("Base", "PSK", "Auth", "AuthPSK"). */
export function parseA2(markdown: string): Map<string, ModeVectors> {
  const start = markdown.indexOf("## DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305");
  if (start < 0) throw new Error("section A.2 not found");
  const section = markdown.slice(start);
  const out = new Map<string, ModeVectors>();
  const parts = section.split(/^### /m).slice(1);
  for (const part of parts) {
    const name = (part.split("\n")[0] ?? "").replace(" Setup Information", "").trim();
    const blocks = [...part.matchAll(/~~~\n([\s\S]*?)~~~/g)].map((m) => m[1] ?? "");
    const [setup, enc, exp] = blocks;
    if (setup === undefined || enc === undefined || exp === undefined)
      throw new Error(`mode ${name}: expected 3 blocks`);
    out.set(name, { setup: parseRecords(setup)[0] ?? {}, encryptions: parseRecords(enc), exports: parseRecords(exp) });
  }
  return out;
}

const markdown = await loadSharedText("hpke/rfc9180-appendix-A1-A2.md");

export function hpkeSuite(p: Primitives): void {
  // null only when the whole ../shared/vectors folder is absent (load.ts said so); a missing
  // file with the folder present failed at load. Four modes, six encryptions and three
  // exports each are asserted below, so a truncated file fails.
  describe.skipIf(markdown === null)(`HPKE RFC 9180 A.2 (${p.name})`, () => {
    let previous: Primitives;
    beforeAll(() => {
      previous = getPrimitives();
      setPrimitives(p);
    });
    afterAll(() => setPrimitives(previous));

    const modes = markdown === null ? new Map<string, ModeVectors>() : parseA2(markdown);
    it("parses all four modes of A.2", () => {
      expect([...modes.keys()]).toEqual(["Base", "PSK", "Auth", "AuthPSK"]);
    });

    for (const [name, v] of modes) {
      it(`${name}: DeriveKeyPair, encapsulation, every encryption and export`, () => {
        const s = v.setup;
        const h = (k: string): Uint8Array => fromHex(s[k] ?? "");
        expect(Number(s.mode)).toBe({ Base: 0, PSK: 1, Auth: 2, AuthPSK: 3 }[name]);
        expect([s.kem_id, s.kdf_id, s.aead_id]).toEqual(["32", "1", "3"]);
        const r = deriveHpkeKeyPair(h("ikmR"));
        expect(toHex(r.privateKey)).toBe(s.skRm);
        expect(toHex(r.publicKey)).toBe(s.pkRm);
        expect(toHex(deriveHpkeKeyPair(h("ikmE")).privateKey)).toBe(s.skEm);
        const sender: BoxKeyPair | undefined =
          s.skSm !== undefined
            ? { privateKey: h("skSm") as BoxPrivateKey, publicKey: h("pkSm") as BoxPublicKey }
            : undefined;
        if (sender) expect(toHex(deriveHpkeKeyPair(h("ikmS")).publicKey)).toBe(s.pkSm);
        const psk = s.psk !== undefined ? { psk: h("psk"), pskId: h("psk_id") } : {};
        const { enc, context } = setupSenderWithEphemeral(
          { recipientPublicKey: r.publicKey, info: h("info"), ...psk, ...(sender ? { sender } : {}) },
          h("skEm"),
        );
        expect(toHex(enc)).toBe(s.enc);
        const receiver = setupHpkeReceiver({
          enc,
          recipientPrivateKey: r.privateKey,
          info: h("info"),
          ...psk,
          ...(sender ? { senderPublicKey: sender.publicKey } : {}),
        });
        // Sequence numbers in the vectors skip (0,1,2,4,…,255,256): advance both contexts.
        let seq = 0;
        expect(v.encryptions.length).toBe(6); // sequence numbers 0, 1, 2, 4, 255, 256
        for (const e of v.encryptions) {
          const target = Number(e["sequence number"]);
          const pt = fromHex(e.pt ?? "");
          const aad = fromHex(e.aad ?? "");
          while (seq < target) {
            receiver.open(context.seal(new Uint8Array(0)));
            seq++;
          }
          const ct = context.seal(pt, aad);
          expect(toHex(ct), `${name} seq ${target}`).toBe(e.ct);
          expect(toHex(receiver.open(ct, aad))).toBe(e.pt);
          seq++;
        }
        expect(v.exports.length).toBe(3);
        for (const x of v.exports) {
          const value = context.export(fromHex(x.exporter_context ?? ""), Number(x.L));
          expect(toHex(value)).toBe(x.exported_value);
          expect(toHex(receiver.export(fromHex(x.exporter_context ?? ""), Number(x.L)))).toBe(x.exported_value);
        }
      });
    }
  });
}
