// Browser ↔ Node interop of @veil/crypto: the same package, bundled for the browser and run in
// a real Chromium on one side, run in Node on the other (with its default @noble primitives and
// with node:crypto, as the console and the companion run it). Only public keys, ciphertext and
// statements cross, as JSON over the page boundary, the way they cross the console.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  DEFAULT_KDF,
  DecryptError,
  VerifyError,
  boxPublicKey,
  derivePasswordKeys,
  fromHex,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  identityPublicKey,
  acceptSession,
  SessionHandshakeError,
  SessionReplayError,
  kdfParams,
  noblePrimitives,
  randomBytes,
  seal,
  setPrimitives,
  signStatement,
  toHex,
  unseal,
  utf8,
  verifyStatement,
  type Primitives,
  type SignedStatement,
} from "@veil/crypto";
import { nodePrimitives } from "@veil/crypto/node";
import { openBundledPage, type BundledPage } from "../support/browser-page.js";
import { chromiumAvailable } from "../support/chromium.js";
import type { VeilInterop } from "./interop-entry.js";

describe.skipIf(!chromiumAvailable)("@veil/crypto between Chromium and Node", () => {
  let browser: BundledPage;

  /** Calls `veilInterop[name](...args)` inside the page; arguments and result cross as JSON. */
  function inBrowser<K extends keyof VeilInterop>(
    name: K,
    ...args: Parameters<VeilInterop[K]>
  ): Promise<Awaited<ReturnType<VeilInterop[K]>>> {
    return browser.page.evaluate(
      ({ name, args }) => {
        const api = (globalThis as unknown as { veilInterop: Record<string, (...a: unknown[]) => unknown> })
          .veilInterop;
        return api[name]?.(...args);
      },
      { name, args: args as unknown[] },
    ) as Promise<Awaited<ReturnType<VeilInterop[K]>>>;
  }

  function flipByte(hex: string, index: number): string {
    const bytes = fromHex(hex);
    if (!Number.isInteger(index)) throw new RangeError("index must be an integer");
    const at = ((index % bytes.length) + bytes.length) % bytes.length;
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    return toHex(bytes);
  }

  beforeAll(async () => {
    browser = await openBundledPage(fileURLToPath(new URL("./interop-entry.ts", import.meta.url)), "veilInterop");
  });

  afterAll(async () => {
    setPrimitives(noblePrimitives);
    await browser?.close();
  });

  test("the page runs the bundled package in a secure context, with no errors", async () => {
    expect(browser.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await browser.page.evaluate(() => window.isSecureContext)).toBe(true);
    expect(await inBrowser("defaults")).toEqual({ ...DEFAULT_KDF });
    expect(browser.errors).toEqual([]);
  });

  const implementations: [string, Primitives][] = [
    ["@noble", noblePrimitives],
    ["node:crypto", nodePrimitives],
  ];

  describe.each(implementations)("Node with %s primitives", (_label, primitives) => {
    beforeAll(() => setPrimitives(primitives));
    afterAll(() => setPrimitives(noblePrimitives));

    const nodeBox = generateBoxKeyPair();
    const nodeIdentity = generateIdentityKeyPair();
    const bystander = generateBoxKeyPair();

    describe("sealed boxes", () => {
      const aad = "veil/v1/vault-item:7f3c";

      test("a box sealed in the browser opens in Node, and any flipped byte is refused", async () => {
        const keys = await inBrowser("publicKeys");
        const plaintext = randomBytes(100 * 1024);
        const sealedHex = await inBrowser(
          "seal",
          toHex(plaintext),
          [toHex(bystander.publicKey), toHex(nodeBox.publicKey)],
          aad,
        );

        const opened = unseal(fromHex(sealedHex), {
          recipient: nodeBox,
          sender: boxPublicKey(fromHex(keys.box)),
          signer: identityPublicKey(fromHex(keys.identity)),
          aad: utf8(aad),
        });
        expect(toHex(opened)).toBe(toHex(plaintext));

        const expectRefused = (hex: string, aadText = aad): void => {
          expect(() =>
            unseal(fromHex(hex), {
              recipient: nodeBox,
              sender: boxPublicKey(fromHex(keys.box)),
              signer: identityPublicKey(fromHex(keys.identity)),
              aad: utf8(aadText),
            }),
          ).toThrow(DecryptError);
        };
        // Version, flags, commitment, an entry, the payload, the signature.
        for (const index of [0, 2, 10, 200, Math.floor(sealedHex.length / 4), -70, -1])
          expectRefused(flipByte(sealedHex, index));
        expectRefused(sealedHex, "veil/v1/vault-item:other");
      });

      test("a box sealed in Node opens in the browser, and only with the right context", async () => {
        const keys = await inBrowser("publicKeys");
        const plaintext = utf8("Ünïcödé payload ✓ — and some bytes: \u0000\u00ff");
        const sealed = seal(plaintext, {
          recipients: [boxPublicKey(fromHex(keys.box)), bystander.publicKey],
          sender: nodeBox,
          signer: nodeIdentity.privateKey,
          aad: utf8(aad),
        });
        const sealedHex = toHex(sealed);
        const nodeBoxHex = toHex(nodeBox.publicKey);
        const nodeIdHex = toHex(nodeIdentity.publicKey);

        expect(await inBrowser("unseal", sealedHex, nodeBoxHex, nodeIdHex, aad)).toEqual({
          ok: true,
          value: toHex(plaintext),
        });
        // What an attacker in the middle would try: tamper, relabel, or claim another sender.
        const refused = { ok: false, error: "DecryptError" };
        expect(await inBrowser("unseal", flipByte(sealedHex, -5), nodeBoxHex, nodeIdHex, aad)).toEqual(refused);
        expect(await inBrowser("unseal", sealedHex, nodeBoxHex, nodeIdHex, "veil/v1/vault-item:other")).toEqual(
          refused,
        );
        expect(await inBrowser("unseal", sealedHex, toHex(bystander.publicKey), nodeIdHex, aad)).toEqual(refused);
        expect(
          await inBrowser("unseal", sealedHex, nodeBoxHex, toHex(generateIdentityKeyPair().publicKey), aad),
        ).toEqual(refused);
      });
    });

    describe("signed statements", () => {
      const domain = "veil/v1/grant";
      const body = {
        instance: "inst_01",
        scopes: ["read", "exec"],
        expires: 1_800_000_000,
        note: "naïve — ✓",
        nested: { b: 1, a: null },
      };

      test("a statement signed in the browser verifies in Node, and a changed one does not", async () => {
        const keys = await inBrowser("publicKeys");
        const statement = await inBrowser("sign", domain, body);
        const signer = identityPublicKey(fromHex(keys.identity));
        expect(verifyStatement(statement, domain, signer)).toEqual(body);

        expect(() =>
          verifyStatement({ ...statement, body: { ...body, scopes: ["read", "exec", "admin"] } }, domain, signer),
        ).toThrow(VerifyError);
        expect(() => verifyStatement(statement, "veil/v1/box-key-certificate", signer)).toThrow(VerifyError);
        expect(() => verifyStatement(statement, domain, nodeIdentity.publicKey)).toThrow(VerifyError);
      });

      test("a statement signed in Node verifies in the browser, and a changed one does not", async () => {
        const statement: SignedStatement = signStatement(domain, body, nodeIdentity.privateKey);
        const signerHex = toHex(nodeIdentity.publicKey);
        // JSON round trip, as it would travel through the console.
        const wire = JSON.parse(JSON.stringify(statement)) as SignedStatement;
        expect(await inBrowser("verify", wire, domain, signerHex)).toEqual({ ok: true, value: body });

        const refused = { ok: false, error: "VerifyError" };
        expect(
          await inBrowser("verify", { ...wire, body: { ...body, expires: 1_900_000_000 } }, domain, signerHex),
        ).toEqual(refused);
        expect(await inBrowser("verify", wire, "veil/v1/box-key-certificate", signerHex)).toEqual(refused);
        const otherSig = signStatement(domain, body, generateIdentityKeyPair().privateKey).signature;
        expect(await inBrowser("verify", { ...wire, signature: otherSig }, domain, signerHex)).toEqual(refused);
      });
    });

    test("a Noise KK session started in the browser is accepted in Node; frames flow both ways", async () => {
      const keys = await inBrowser("publicKeys");
      const instance = generateBoxKeyPair();
      const binding = { protocolVersion: 1, instanceId: "inst_01HZX3K9Q7", accountId: "acct_01HZX3KA2M" };
      const hello = utf8("hello from the browser");

      const first = await inBrowser("initiate", binding, toHex(instance.publicKey), toHex(hello));
      const incoming = acceptSession({
        ...binding,
        instanceSecretKey: instance.privateKey,
        accountPublicKey: fromHex(keys.box),
        message: fromHex(first),
      });
      expect(toHex(incoming.payload)).toBe(toHex(hello));
      const { message, session } = incoming.respond(utf8("hello from the companion"));
      expect(await inBrowser("finish", toHex(message))).toEqual({
        ok: true,
        value: toHex(utf8("hello from the companion")),
      });
      expect(await inBrowser("handshakeHash")).toBe(toHex(session.handshakeHash));

      // Browser → companion, in order; a replayed frame is refused and the session goes on.
      const frames = [randomBytes(1), randomBytes(1024), randomBytes(60_000)];
      const sealed: string[] = [];
      for (const f of frames) sealed.push(await inBrowser("sealFrame", toHex(f)));
      expect(toHex(session.open(fromHex(sealed[0] ?? "")))).toBe(toHex(frames[0] ?? new Uint8Array()));
      expect(toHex(session.open(fromHex(sealed[1] ?? "")))).toBe(toHex(frames[1] ?? new Uint8Array()));
      expect(() => session.open(fromHex(sealed[0] ?? ""))).toThrow(SessionReplayError);
      expect(toHex(session.open(fromHex(sealed[2] ?? "")))).toBe(toHex(frames[2] ?? new Uint8Array()));

      // Companion → browser; a frame the relay modified is refused, the genuine one still opens.
      const reply = randomBytes(2048);
      const frame = toHex(session.seal(reply));
      expect(await inBrowser("openFrame", flipByte(frame, -1))).toEqual({ ok: false, error: "forgery" });
      expect(await inBrowser("openFrame", frame)).toEqual({ ok: true, value: toHex(reply) });
      expect(await inBrowser("openFrame", frame)).toEqual({ ok: false, error: "replay" });
    });

    test("a companion with another instance key cannot complete the browser's handshake", async () => {
      const keys = await inBrowser("publicKeys");
      const instance = generateBoxKeyPair();
      const impostor = generateBoxKeyPair();
      const binding = { protocolVersion: 1, instanceId: "inst_01HZX3K9Q7", accountId: "acct_01HZX3KA2M" };
      const first = await inBrowser("initiate", binding, toHex(instance.publicKey), "");
      expect(() =>
        acceptSession({
          ...binding,
          instanceSecretKey: impostor.privateKey,
          accountPublicKey: fromHex(keys.box),
          message: fromHex(first),
        }),
      ).toThrow(SessionHandshakeError);
      // A console that rebinds the session to another instance id is noticed too.
      expect(() =>
        acceptSession({
          ...binding,
          instanceId: "inst_other",
          instanceSecretKey: instance.privateKey,
          accountPublicKey: fromHex(keys.box),
          message: fromHex(first),
        }),
      ).toThrow(SessionHandshakeError);
    });

    test("Argon2id password keys at the default cost match between browser and Node", async () => {
      const salt = randomBytes(16);
      const email = "zoë@example.org".normalize("NFC");
      // The browser is given the decomposed spelling, Node the composed one: both normalise to NFC.
      const composed = "correct hörse battery stäple";
      const decomposed = composed.normalize("NFD");
      expect(decomposed).not.toBe(composed);

      const fromBrowser = await inBrowser("derive", decomposed, toHex(salt), email);
      const keys = await derivePasswordKeys(composed, kdfParams({ ...DEFAULT_KDF, salt }), email);
      expect(fromBrowser.authKey).toBe(toHex(keys.authKey));
      expect(fromBrowser.wrapKey).toBe(toHex(keys.wrapKey));
      expect(fromBrowser.authKey).not.toBe(fromBrowser.wrapKey);

      // The served salt and the e-mail the user typed both bind the keys.
      const otherSalt = await inBrowser("derive", composed, toHex(randomBytes(16)), email);
      expect(otherSalt.authKey).not.toBe(fromBrowser.authKey);
      const otherEmail = await derivePasswordKeys(composed, kdfParams({ ...DEFAULT_KDF, salt }), "zoe@example.org");
      expect(toHex(otherEmail.authKey)).not.toBe(fromBrowser.authKey);
    });
  });
});
