// Multi-recipient sealed boxes: round trips, authentication, commitment, tampering.
import { describe, expect, it } from "vitest";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, lengthPrefixed, u32be, utf8 } from "../src/encoding";
import { signEd25519, verifyEd25519 } from "../src/ed25519";
import { hpkeOpen, hpkeSeal } from "../src/hpke";
import { randomBytes } from "../src/random";
import { DecryptError } from "../src/errors";
import { generateBoxKeyPair, generateIdentityKeyPair, type BoxPublicKey } from "../src/keys";
import { getPrimitives, setPrimitives } from "../src/primitives/index";
import { MAX_RECIPIENTS, SEALED_VERSION, seal, unseal } from "../src/seal";
import { salamander } from "./salamander";

const msg = new TextEncoder().encode("vault item: router admin password");
const alice = generateBoxKeyPair();
const bob = generateBoxKeyPair();
const carol = generateBoxKeyPair();
const sender = generateBoxKeyPair();
const signer = generateIdentityKeyPair();

const PREFIX = 1 + 1 + 1 + 2 + 32 + 24;
const ENTRY = 16 + 32 + 48;

const EMPTY = new Uint8Array(0);
/** The documented `parties` field: lp(sender box public key | empty) ‖ lp(signer public key | empty). */
const parties = (senderKey: Uint8Array = EMPTY, signerKey: Uint8Array = EMPTY): Uint8Array =>
  concat(lengthPrefixed(senderKey), lengthPrefixed(signerKey));
const info = (pt: Uint8Array = parties()): Uint8Array =>
  concat(lengthPrefixed("veil/v1/sealed"), lengthPrefixed(EMPTY), pt);
const derive = (k: Uint8Array, label: string): Uint8Array => hkdf(sha256, k, EMPTY, utf8(label), 32);
const payloadAad = (prefix: Uint8Array, pt: Uint8Array = parties()): Uint8Array =>
  concat(lengthPrefixed("veil/v1/sealed/payload"), prefix, lengthPrefixed(EMPTY), pt);
const entryAadOf = (prefix: Uint8Array, ct: Uint8Array, pt: Uint8Array = parties()): Uint8Array =>
  concat(lengthPrefixed("veil/v1/sealed/entry"), prefix, sha256(ct), pt);
const keyIdOf = (r: Uint8Array): Uint8Array => sha256(concat(lengthPrefixed("veil/v1/sealed/key-id"), r)).slice(0, 16);

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
    expect(unseal(seal(new Uint8Array(0), { recipients: [alice.publicKey] }), { recipient: alice })).toEqual(
      new Uint8Array(0),
    );
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
    for (const n of [0, 1, 4, 5, 69, 70, 100, 165, 166, 169, box.length - 1])
      opaque(() => unseal(box.slice(0, n), { recipient: alice }));
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
    const pt = parties(sender.publicKey);
    const k = hpkeOpen(
      {
        enc: entryA.slice(16, 48),
        recipientPrivateKey: alice.privateKey,
        senderPublicKey: sender.publicKey,
        info: info(pt),
      },
      entryA.slice(48),
      entryAadOf(prefix, ct, pt),
    );
    const forged = xchacha20poly1305(
      derive(k, "veil/v1/sealed/payload-key"),
      prefix.slice(37, 61),
      payloadAad(prefix, pt),
    ).encrypt(utf8("transfer everything to mallory"));
    const forgedBox = concat(box.slice(0, PREFIX + 2 * ENTRY), u32be(forged.length), forged);
    // control: the same reassembly with the genuine ciphertext opens for Bob
    expect(
      unseal(concat(box.slice(0, PREFIX + 2 * ENTRY), u32be(ct.length), ct), {
        recipient: bob,
        sender: sender.publicKey,
      }),
    ).toEqual(msg);
    // and the forged payload itself is a valid encryption under K (it is only the binding that stops it)
    expect(
      xchacha20poly1305(derive(k, "veil/v1/sealed/payload-key"), prefix.slice(37, 61), payloadAad(prefix, pt)).decrypt(
        forged,
      ),
    ).toEqual(utf8("transfer everything to mallory"));
    opaque(() => unseal(forgedBox, { recipient: bob, sender: sender.publicKey }));
  });

  it("key commitment stops an invisible salamander: one payload valid under two content keys (review finding 3)", () => {
    // A malicious sender gives Alice K1 and Bob K2. The payload ciphertext is built so that
    // XChaCha20-Poly1305 accepts it under BOTH payload keys (test/salamander.ts), so nothing
    // but the commitment in the prefix stops Bob from reading a different plaintext.
    // Built by hand from the documented format (seal.ts module doc), so this also checks it.
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const nonce = randomBytes(24);
    const prefix = concat(Uint8Array.of(SEALED_VERSION, 1, 0, 0, 2), derive(k1, "veil/v1/sealed/commitment"), nonce);
    const pk1 = derive(k1, "veil/v1/sealed/payload-key");
    const pk2 = derive(k2, "veil/v1/sealed/payload-key");
    const payload = salamander(pk1, pk2, nonce, payloadAad(prefix), utf8("Alice: approve!!"));
    // the construction works: both keys accept the payload, and the plaintexts differ
    const forAlice = xchacha20poly1305(pk1, nonce, payloadAad(prefix)).decrypt(payload);
    const forBob = xchacha20poly1305(pk2, nonce, payloadAad(prefix)).decrypt(payload);
    expect(forAlice.slice(0, 16)).toEqual(utf8("Alice: approve!!"));
    expect(forBob).not.toEqual(forAlice);
    const entry = (r: BoxPublicKey, k: Uint8Array): Uint8Array => {
      const { enc, ciphertext } = hpkeSeal({ recipientPublicKey: r, info: info() }, k, entryAadOf(prefix, payload));
      return concat(keyIdOf(r), enc, ciphertext);
    };
    const box = concat(prefix, entry(alice.publicKey, k1), entry(bob.publicKey, k2), u32be(payload.length), payload);
    // Alice holds the committed key and opens; Bob's entry opens (HPKE) and his payload tag
    // verifies, so only the commitment check refuses him. Remove it and this line fails.
    expect(unseal(box, { recipient: alice })).toEqual(forAlice);
    opaque(() => unseal(box, { recipient: bob }));
  });

  it("a signature cannot be stripped and replaced by another signer's (review finding 4)", () => {
    const mallory = generateIdentityKeyPair();
    const box = seal(msg, { recipients: [bob.publicKey], signer: signer.privateKey });
    expect(unseal(box, { recipient: bob, signer: signer.publicKey })).toEqual(msg);
    // Mallory strips the signature and signs the same body, with herself as the signer: over
    // the signed bytes as documented (with `parties` naming her), and as v1 computed them
    // (without), so the test fails if the binding is removed from seal.ts.
    const body = box.slice(0, box.length - 64);
    const withParties = concat(
      lengthPrefixed("veil/v1/sealed/signature"),
      body,
      lengthPrefixed(EMPTY),
      parties(EMPTY, mallory.publicKey),
    );
    const withoutParties = concat(lengthPrefixed("veil/v1/sealed/signature"), body, lengthPrefixed(EMPTY));
    for (const signed of [withParties, withoutParties]) {
      const resigned = concat(body, signEd25519(mallory.privateKey, signed));
      // Her signature itself is valid…
      expect(verifyEd25519(mallory.publicKey, signed, resigned.slice(resigned.length - 64))).toBe(true);
      // …but the payload and Bob's entry name the real signer, so nothing opens.
      opaque(() => unseal(resigned, { recipient: bob, signer: mallory.publicKey }));
    }
    // The same with auth mode: the sender's box key is bound too.
    const authBox = seal(msg, { recipients: [bob.publicKey], sender, signer: signer.privateKey });
    const authBody = authBox.slice(0, authBox.length - 64);
    const authSigned = concat(
      lengthPrefixed("veil/v1/sealed/signature"),
      authBody,
      lengthPrefixed(EMPTY),
      parties(sender.publicKey, mallory.publicKey),
    );
    opaque(() =>
      unseal(concat(authBody, signEd25519(mallory.privateKey, authSigned)), {
        recipient: bob,
        sender: sender.publicKey,
        signer: mallory.publicKey,
      }),
    );
    expect(unseal(authBox, { recipient: bob, sender: sender.publicKey, signer: signer.publicKey })).toEqual(msg);
  });

  it("duplicate key ids are refused before any HPKE work (review finding 6)", () => {
    const box = seal(msg, { recipients: [alice.publicKey, bob.publicKey] });
    const dup = Uint8Array.from(box);
    dup.set(box.slice(PREFIX, PREFIX + 16), PREFIX + ENTRY); // Bob's entry now carries Alice's key id
    opaque(() => unseal(dup, { recipient: alice })); // even though Alice's own entry is intact
    // A console filling every entry with the victim's key id costs the victim no X25519 at all.
    const nonce = randomBytes(24);
    const prefix = concat(
      Uint8Array.of(SEALED_VERSION, 1, 0, MAX_RECIPIENTS >> 8, MAX_RECIPIENTS & 0xff),
      randomBytes(32),
      nonce,
    );
    const entries = Array.from({ length: MAX_RECIPIENTS }, () =>
      concat(keyIdOf(alice.publicKey), randomBytes(32 + 48)),
    );
    const flood = concat(prefix, ...entries, u32be(16), randomBytes(16));
    const previous = getPrimitives();
    let dh = 0;
    setPrimitives({ ...previous, x25519: (k, p) => (dh++, previous.x25519(k, p)) });
    try {
      opaque(() => unseal(flood, { recipient: alice }));
    } finally {
      setPrimitives(previous);
    }
    expect(dh).toBe(0);
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
