// Multi-recipient sealed boxes: round trips, authentication, commitment, tampering.
import { describe, expect, it } from "vitest";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, lengthPrefixed, u32be, utf8 } from "../src/encoding";
import { hpkeOpen, hpkeSeal } from "../src/hpke";
import { randomBytes } from "../src/random";
import { DecryptError } from "../src/errors";
import { generateBoxKeyPair, generateIdentityKeyPair, type BoxPublicKey } from "../src/keys";
import { MAX_RECIPIENTS, seal, unseal } from "../src/seal";

const msg = new TextEncoder().encode("vault item: router admin password");
const alice = generateBoxKeyPair();
const bob = generateBoxKeyPair();
const carol = generateBoxKeyPair();
const sender = generateBoxKeyPair();
const signer = generateIdentityKeyPair();

const PREFIX = 1 + 1 + 1 + 2 + 32 + 24;
const ENTRY = 16 + 32 + 48;

const INFO = concat(lengthPrefixed("veil/v1/sealed"), lengthPrefixed(new Uint8Array(0)));
const derive = (k: Uint8Array, label: string): Uint8Array => hkdf(sha256, k, new Uint8Array(0), utf8(label), 32);
const payloadAad = (prefix: Uint8Array): Uint8Array => concat(lengthPrefixed("veil/v1/sealed/payload"), prefix, lengthPrefixed(new Uint8Array(0)));

function opaque(f: () => unknown): void {
  expect(f).toThrow(DecryptError);
}

describe("seal / unseal", () => {
  it("every recipient opens; a non-recipient cannot", () => {
    const box = seal(msg, { recipients: [alice.publicKey, bob.publicKey] });
    expect(unseal(box, { recipient: alice })).toEqual(msg);
    expect(unseal(box, { recipient: bob })).toEqual(msg);
    opaque(() => unseal(box, { recipient: carol }));
  });

  it("empty plaintext works", () => {
    expect(unseal(seal(new Uint8Array(0), { recipients: [alice.publicKey] }), { recipient: alice })).toEqual(new Uint8Array(0));
  });

  it("associated data is bound", () => {
    const aad = new TextEncoder().encode("vault/inst_1/item_9");
    const box = seal(msg, { recipients: [alice.publicKey], aad });
    expect(unseal(box, { recipient: alice, aad })).toEqual(msg);
    opaque(() => unseal(box, { recipient: alice }));
    opaque(() => unseal(box, { recipient: alice, aad: new TextEncoder().encode("vault/inst_1/item_8") }));
  });

  it("auth mode: the expected sender opens, anything else fails; the flag cannot be stripped or added", () => {
    const box = seal(msg, { recipients: [alice.publicKey], sender });
    expect(unseal(box, { recipient: alice, sender: sender.publicKey })).toEqual(msg);
    opaque(() => unseal(box, { recipient: alice, sender: carol.publicKey }));
    opaque(() => unseal(box, { recipient: alice }));
    const plain = seal(msg, { recipients: [alice.publicKey] });
    opaque(() => unseal(plain, { recipient: alice, sender: sender.publicKey }));
  });

  it("signed boxes verify against the expected identity; unsigned boxes are refused when a signer is expected", () => {
    const box = seal(msg, { recipients: [alice.publicKey, bob.publicKey], signer: signer.privateKey });
    expect(unseal(box, { recipient: bob, signer: signer.publicKey })).toEqual(msg);
    opaque(() => unseal(box, { recipient: bob, signer: generateIdentityKeyPair().publicKey }));
    opaque(() => unseal(box, { recipient: bob }));
    opaque(() => unseal(seal(msg, { recipients: [bob.publicKey] }), { recipient: bob, signer: signer.publicKey }));
    // stripping the signature and clearing the flag breaks the payload AAD and the HPKE aad
    const stripped = box.slice(0, box.length - 64);
    stripped[2] = 0;
    opaque(() => unseal(stripped, { recipient: bob }));
  });

  it("every flipped byte fails opaquely", () => {
    const box = seal(msg, { recipients: [alice.publicKey, bob.publicKey], sender, signer: signer.privateKey });
    for (let i = 0; i < box.length; i++) {
      const t = Uint8Array.from(box);
      t[i] = (t[i] ?? 0) ^ 0x01;
      opaque(() => unseal(t, { recipient: alice, sender: sender.publicKey, signer: signer.publicKey }));
    }
  });

  it("truncated and extended boxes fail opaquely", () => {
    const box = seal(msg, { recipients: [alice.publicKey] });
    for (const n of [0, 1, 4, 5, 69, 70, 100, 165, 166, 169, box.length - 1]) opaque(() => unseal(box.slice(0, n), { recipient: alice }));
    opaque(() => unseal(concat(box, Uint8Array.of(0)), { recipient: alice }));
  });

  it("entries are bound to the prefix and payload: an entry spliced from another box opens for no one", () => {
    const box1 = seal(msg, { recipients: [alice.publicKey, bob.publicKey] });
    const box2 = seal(msg, { recipients: [alice.publicKey, bob.publicKey] });
    const spliced = Uint8Array.from(box1);
    spliced.set(box2.slice(PREFIX + ENTRY, PREFIX + 2 * ENTRY), PREFIX + ENTRY);
    expect(unseal(spliced, { recipient: alice })).toEqual(msg); // Alice's own entry is untouched
    opaque(() => unseal(spliced, { recipient: bob }));
  });

  it("auth mode, insider: a recipient who re-encrypts other content under the same header cannot pass it to another recipient", () => {
    const box = seal(msg, { recipients: [alice.publicKey, bob.publicKey], sender });
    // Alice learns K (she is a recipient); here we recover it the way she would.
    const prefix = box.slice(0, PREFIX);
    const entryA = box.slice(PREFIX, PREFIX + ENTRY);
    const ctLength = new DataView(box.buffer, box.byteOffset + PREFIX + 2 * ENTRY, 4).getUint32(0);
    const ct = box.slice(PREFIX + 2 * ENTRY + 4, PREFIX + 2 * ENTRY + 4 + ctLength);
    const entryAad = concat(lengthPrefixed("veil/v1/sealed/entry"), prefix, sha256(ct));
    const k = hpkeOpen(
      { enc: entryA.slice(16, 48), recipientPrivateKey: alice.privateKey, senderPublicKey: sender.publicKey, info: INFO },
      entryA.slice(48),
      entryAad,
    );
    const forged = xchacha20poly1305(derive(k, "veil/v1/sealed/payload-key"), prefix.slice(37, 61), payloadAad(prefix)).encrypt(utf8("transfer everything to mallory"));
    const forgedBox = concat(box.slice(0, PREFIX + 2 * ENTRY), u32be(forged.length), forged);
    // control: the same reassembly with the genuine ciphertext opens for Bob
    expect(unseal(concat(box.slice(0, PREFIX + 2 * ENTRY), u32be(ct.length), ct), { recipient: bob, sender: sender.publicKey })).toEqual(msg);
    // and the forged payload itself is a valid encryption under K (it is only the binding that stops it)
    expect(xchacha20poly1305(derive(k, "veil/v1/sealed/payload-key"), prefix.slice(37, 61), payloadAad(prefix)).decrypt(forged)).toEqual(utf8("transfer everything to mallory"));
    opaque(() => unseal(forgedBox, { recipient: bob, sender: sender.publicKey }));
  });

  it("key commitment: an insider box giving recipients different content keys opens only for the committed one", () => {
    // Built by hand from the documented format (seal.ts module doc), so this also checks it.
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const nonce = randomBytes(24);
    const prefix = concat(Uint8Array.of(1, 1, 0, 0, 2), derive(k1, "veil/v1/sealed/commitment"), nonce);
    const ct = xchacha20poly1305(derive(k1, "veil/v1/sealed/payload-key"), nonce, payloadAad(prefix)).encrypt(msg);
    const entryAad = concat(lengthPrefixed("veil/v1/sealed/entry"), prefix, sha256(ct));
    const entry = (r: BoxPublicKey, k: Uint8Array): Uint8Array => {
      const { enc, ciphertext } = hpkeSeal({ recipientPublicKey: r, info: INFO }, k, entryAad);
      return concat(sha256(concat(lengthPrefixed("veil/v1/sealed/key-id"), r)).slice(0, 16), enc, ciphertext);
    };
    const box = concat(prefix, entry(alice.publicKey, k1), entry(bob.publicKey, k2), u32be(ct.length), ct);
    expect(unseal(box, { recipient: alice })).toEqual(msg);
    opaque(() => unseal(box, { recipient: bob }));
  });

  it("rejects bad inputs with labelled errors", () => {
    expect(() => seal(msg, { recipients: [] })).toThrow(RangeError);
    expect(() => seal(msg, { recipients: [alice.publicKey, alice.publicKey] })).toThrow(/duplicate/);
    expect(() => seal(msg, { recipients: [new Uint8Array(31) as BoxPublicKey] })).toThrow(/recipients\[0\]/);
    expect(() => seal(msg, { recipients: "x" as never })).toThrow(TypeError);
    expect(() => seal("x" as never, { recipients: [alice.publicKey] })).toThrow(TypeError);
    expect(() => seal(msg, { recipients: [new Uint8Array(32) as BoxPublicKey] })).toThrow(/low-order/);
    expect(() => unseal(u32be(1), null as never)).toThrow(TypeError);
    expect(MAX_RECIPIENTS).toBe(1024);
  });
});
