// The Veil session handshake (Noise_KK_25519_ChaChaPoly_SHA256): round trips, every binding
// mismatch, tampering, single use, input validation, prologue encoding.
import { describe, expect, it } from "vitest";
import {
  acceptSession,
  encodeSessionPrologue,
  initiateSession,
  SESSION_MAX_HANDSHAKE_PAYLOAD,
  SESSION_PROLOGUE_LABEL,
  SESSION_PROTOCOL_NAME,
  SessionClosedError,
  SessionHandshakeError,
  type AcceptSessionOptions,
  type InitiateSessionOptions,
} from "../src/session/index";
import { account, binding, fromHex, handshake, instance, keyPair, toHex, utf8 } from "./session-fixtures";

const initOpts = (over: Partial<InitiateSessionOptions> = {}): InitiateSessionOptions => ({
  ...binding,
  accountSecretKey: account.secretKey,
  instancePublicKey: instance.publicKey,
  ...over,
});
const acceptOpts = (message: Uint8Array, over: Partial<AcceptSessionOptions> = {}): AcceptSessionOptions => ({
  ...binding,
  instanceSecretKey: instance.secretKey,
  accountPublicKey: account.publicKey,
  message,
  ...over,
});

describe("session handshake: round trip", () => {
  it("both ends derive the same handshake hash and working directional keys", () => {
    const { browser, companion, browserPayload, companionPayload } = handshake({
      hello: utf8("sid:42;caps:term"),
      reply: utf8("ok"),
    });
    expect(SESSION_PROTOCOL_NAME).toBe("Noise_KK_25519_ChaChaPoly_SHA256");
    expect(new TextDecoder().decode(browserPayload)).toBe("sid:42;caps:term");
    expect(new TextDecoder().decode(companionPayload)).toBe("ok");
    expect(browser.handshakeHash).toHaveLength(32);
    expect(toHex(browser.handshakeHash)).toBe(toHex(companion.handshakeHash));
    expect(browser.role).toBe("initiator");
    expect(companion.role).toBe("responder");
    expect(toHex(browser.remoteStaticKey)).toBe(toHex(instance.publicKey));
    expect(toHex(companion.remoteStaticKey)).toBe(toHex(account.publicKey));
    expect(toHex(companion.open(browser.seal(utf8("ping"))))).toBe(toHex(utf8("ping")));
    expect(toHex(browser.open(companion.seal(utf8("pong"))))).toBe(toHex(utf8("pong")));
  });

  it("fresh ephemerals make every session's hash and keys different", () => {
    const a = handshake();
    const b = handshake();
    expect(toHex(a.browser.handshakeHash)).not.toBe(toHex(b.browser.handshakeHash));
    expect(() => b.companion.open(a.browser.seal(utf8("x")))).toThrow(expect.objectContaining({ code: "forgery" }));
  });

  it("is deterministic given the ephemerals (regression vector, docs/PROTOCOL-SESSION.md)", () => {
    const pending = initiateSession(
      initOpts({ ephemeralSecretKey: new Uint8Array(32).fill(0x33), payload: utf8("hello") }),
    );
    const incoming = acceptSession(acceptOpts(pending.message, { ephemeralSecretKey: new Uint8Array(32).fill(0x44) }));
    const { message, session: companion } = incoming.respond(utf8("welcome"));
    const { session: browser } = pending.finish(message);
    expect(toHex(pending.message)).toBe(REGRESSION.message1);
    expect(toHex(message)).toBe(REGRESSION.message2);
    expect(toHex(browser.handshakeHash)).toBe(REGRESSION.handshakeHash);
    expect(toHex(browser.seal(utf8("ping")))).toBe(REGRESSION.firstFrame);
    expect(toHex(companion.handshakeHash)).toBe(REGRESSION.handshakeHash);
  });
});

describe("session handshake: mismatches fail", () => {
  const cases: [string, Partial<InitiateSessionOptions>, Partial<AcceptSessionOptions>][] = [
    ["browser expects another instance key", { instancePublicKey: keyPair().publicKey }, {}],
    ["companion expects another account key", {}, { accountPublicKey: keyPair().publicKey }],
    ["browser uses another account key", { accountSecretKey: keyPair().secretKey }, {}],
    ["companion uses another instance key", {}, { instanceSecretKey: keyPair().secretKey }],
    ["protocol version differs", { protocolVersion: 2 }, {}],
    ["instance id differs", { instanceId: "inst_other" }, {}],
    ["account id differs", {}, { accountId: "acct_other" }],
  ];
  for (const [name, init, accept] of cases) {
    it(name, () => {
      const pending = initiateSession(initOpts(init));
      expect(() => acceptSession(acceptOpts(pending.message, accept))).toThrow(SessionHandshakeError);
    });
  }

  it("a reply made for another handshake is rejected", () => {
    const first = initiateSession(initOpts());
    const second = initiateSession(initOpts());
    const { message } = acceptSession(acceptOpts(second.message)).respond();
    expect(() => first.finish(message)).toThrow(SessionHandshakeError);
  });

  it("an all-zero DH output (low-order instance key) is rejected, RFC 7748 §6.1", () => {
    expect(() => initiateSession(initOpts({ instancePublicKey: new Uint8Array(32) }))).toThrow(SessionHandshakeError);
    const low = fromHex("0100000000000000000000000000000000000000000000000000000000000000");
    expect(() => initiateSession(initOpts({ instancePublicKey: low }))).toThrow(SessionHandshakeError);
  });

  it("a low-order ephemeral in the first message is rejected, by the DH check itself", () => {
    const pending = initiateSession(initOpts());
    const forged = pending.message.slice();
    forged.fill(0, 0, 32);
    // Decryption of the payload would fail too; the cause shows the all-zero DH was caught first.
    const thrown = (() => {
      try {
        acceptSession(acceptOpts(forged));
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(SessionHandshakeError);
    expect((thrown as SessionHandshakeError).cause).toMatchObject({ name: "NoiseError", code: "invalid_dh" });
  });
});

describe("session handshake: tampering", () => {
  it("flipping any bit of any byte of message 1 is detected", () => {
    const pending = initiateSession(initOpts({ payload: utf8("sid") }));
    for (let i = 0; i < pending.message.length; i++) {
      const forged = pending.message.slice();
      forged[i] = (forged[i] ?? 0) ^ (1 << (i % 8));
      expect(() => acceptSession(acceptOpts(forged)), `byte ${i}`).toThrow(SessionHandshakeError);
    }
  });

  it("flipping any byte of message 2, truncating or extending it, is detected", () => {
    // Fixed ephemerals: every fresh pending handshake below is in the same state.
    const start = () => initiateSession(initOpts({ ephemeralSecretKey: new Uint8Array(32).fill(9) }));
    const pending0 = start();
    const { message } = acceptSession(
      acceptOpts(pending0.message, { ephemeralSecretKey: new Uint8Array(32).fill(8) }),
    ).respond(utf8("hi"));
    const variants: Uint8Array[] = [
      message.subarray(0, message.length - 1),
      message.subarray(0, 20),
      new Uint8Array([...message, 0]),
    ];
    for (let i = 0; i < message.length; i++) {
      const forged = message.slice();
      forged[i] = (forged[i] ?? 0) ^ (0x80 >> (i % 8));
      variants.push(forged);
    }
    for (const forged of variants) expect(() => start().finish(forged)).toThrow(SessionHandshakeError);
    expect(start().finish(message).payload).toEqual(utf8("hi"));
  });

  it("a truncated message 1 is rejected", () => {
    const pending = initiateSession(initOpts());
    for (const n of [0, 31, 32, 47]) {
      expect(() => acceptSession(acceptOpts(pending.message.subarray(0, n)))).toThrow(SessionHandshakeError);
    }
  });
});

describe("session handshake: single use and abort", () => {
  it("finish() and respond() work once; a failed finish() leaves nothing to retry", () => {
    const pending = initiateSession(initOpts());
    const incoming = acceptSession(acceptOpts(pending.message));
    const { message } = incoming.respond();
    expect(() => incoming.respond()).toThrow(SessionClosedError);
    const bad = message.slice();
    bad[40] = (bad[40] ?? 0) ^ 1;
    expect(() => pending.finish(bad)).toThrow(SessionHandshakeError);
    expect(() => pending.finish(message)).toThrow(SessionClosedError);
  });

  it("abort() makes the pending handshake unusable", () => {
    const pending = initiateSession(initOpts());
    const { message } = acceptSession(acceptOpts(pending.message)).respond();
    pending.abort();
    expect(() => pending.finish(message)).toThrow(SessionClosedError);
    const incoming = acceptSession(acceptOpts(initiateSession(initOpts()).message));
    incoming.abort();
    expect(() => incoming.respond()).toThrow(SessionClosedError);
  });
});

describe("session handshake: input validation", () => {
  const bad: [string, Partial<InitiateSessionOptions>, RegExp, typeof TypeError | typeof RangeError][] = [
    ["short account key", { accountSecretKey: new Uint8Array(31) }, /accountSecretKey/, RangeError],
    ["account key not bytes", { accountSecretKey: "x" as unknown as Uint8Array }, /accountSecretKey/, TypeError],
    ["long instance key", { instancePublicKey: new Uint8Array(33) }, /instancePublicKey/, RangeError],
    ["negative version", { protocolVersion: -1 }, /protocolVersion/, RangeError],
    ["fractional version", { protocolVersion: 1.5 }, /protocolVersion/, TypeError],
    ["version above u32", { protocolVersion: 2 ** 32 }, /protocolVersion/, RangeError],
    ["version as string", { protocolVersion: "3" as unknown as number }, /protocolVersion/, TypeError],
    ["empty instance id", { instanceId: "" }, /instanceId/, RangeError],
    ["instance id not a string", { instanceId: 7 as unknown as string }, /instanceId/, TypeError],
    ["lone surrogate in account id", { accountId: "a\ud800" }, /accountId/, RangeError],
    ["account id too long", { accountId: "a".repeat(1025) }, /accountId/, RangeError],
    ["payload too large", { payload: new Uint8Array(SESSION_MAX_HANDSHAKE_PAYLOAD + 1) }, /payload/, RangeError],
    ["payload not bytes", { payload: [1, 2] as unknown as Uint8Array }, /payload/, TypeError],
    ["rekey interval zero", { rekeyInterval: 0 }, /rekeyInterval/, RangeError],
    ["ephemeral wrong size", { ephemeralSecretKey: new Uint8Array(16) }, /ephemeralSecretKey/, RangeError],
  ];
  for (const [name, over, field, type] of bad) {
    it(`initiateSession rejects ${name}`, () => {
      expect(() => initiateSession(initOpts(over))).toThrow(type);
      expect(() => initiateSession(initOpts(over))).toThrow(field);
    });
  }

  it("acceptSession and finish() label their inputs", () => {
    const pending = initiateSession(initOpts());
    expect(() => acceptSession(acceptOpts(pending.message, { instanceSecretKey: new Uint8Array(1) }))).toThrow(
      /instanceSecretKey/,
    );
    expect(() => acceptSession(acceptOpts(pending.message, { accountPublicKey: new Uint8Array(1) }))).toThrow(
      /accountPublicKey/,
    );
    expect(() => acceptSession(acceptOpts(null as unknown as Uint8Array))).toThrow(TypeError);
    expect(() => acceptSession(acceptOpts(new Uint8Array(65_536)))).toThrow(/message/);
    expect(() => acceptSession(null as unknown as AcceptSessionOptions)).toThrow(TypeError);
    expect(() => pending.finish("x" as unknown as Uint8Array)).toThrow(/reply/);
    const incoming = acceptSession(acceptOpts(pending.message));
    expect(() => incoming.respond(new Uint8Array(SESSION_MAX_HANDSHAKE_PAYLOAD + 1))).toThrow(RangeError);
  });

  it("accepts the largest handshake payloads", () => {
    const big = new Uint8Array(SESSION_MAX_HANDSHAKE_PAYLOAD).fill(7);
    const { browserPayload, companionPayload } = handshake({ hello: big, reply: big });
    expect(browserPayload).toHaveLength(SESSION_MAX_HANDSHAKE_PAYLOAD);
    expect(companionPayload).toHaveLength(SESSION_MAX_HANDSHAKE_PAYLOAD);
  });
});

describe("session prologue", () => {
  it("has the documented layout", () => {
    const p = encodeSessionPrologue({ protocolVersion: 3, instanceId: "i1", accountId: "é" });
    const label = utf8(SESSION_PROLOGUE_LABEL);
    const expected = new Uint8Array([0, label.length, ...label, 0, 0, 0, 3, 0, 2, 0x69, 0x31, 0, 2, 0xc3, 0xa9]);
    expect(toHex(p)).toBe(toHex(expected));
  });

  it("accepts an id that starts with U+FEFF (well-formed) and keeps it distinct; the lone-surrogate message is precise (review finding 9)", () => {
    const bom = encodeSessionPrologue({ protocolVersion: 1, instanceId: "\ufeffinst_1", accountId: "a" });
    const plain = encodeSessionPrologue({ protocolVersion: 1, instanceId: "inst_1", accountId: "a" });
    expect(toHex(bom)).not.toBe(toHex(plain));
    expect(toHex(bom)).toContain("efbbbf");
    expect(() => encodeSessionPrologue({ protocolVersion: 1, instanceId: "\ud800x", accountId: "a" })).toThrow(
      /instanceId must be well-formed Unicode \(no lone surrogates\)/,
    );
  });

  it("is unambiguous: moving bytes between fields changes the encoding", () => {
    const a = encodeSessionPrologue({ protocolVersion: 1, instanceId: "ab", accountId: "c" });
    const b = encodeSessionPrologue({ protocolVersion: 1, instanceId: "a", accountId: "bc" });
    expect(toHex(a)).not.toBe(toHex(b));
  });
});

// Computed independently (a separate Noise_KK implementation over Python's `cryptography`,
// following docs/PROTOCOL-SESSION.md) and pinned here: fixture keys 0x11…/0x22…, ephemerals
// 0x33…/0x44…, binding {3, "inst_01HZX3K9Q7", "acct_01HZX3KA2M"}, payloads "hello"/"welcome".
const REGRESSION = {
  message1:
    "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14edcb0ce03cc400b137440192ee0fb7a1f13c32ac4d",
  message2:
    "ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b6103a78e935b039e95a929d3ce3ea7c4cb3e2fa3f924e8",
  handshakeHash: "20b6ab9424fea905abf73f98472dab600ade70e3a4972cf0823e97fc17ecc6cd",
  firstFrame: "010000000000000000d9e73f8ca7f5d066dd36ca892bccd2b406fb020a",
};
