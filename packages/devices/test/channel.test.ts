import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildChallenge,
  DeviceChannelClient,
  DeviceChannelServer,
  DeviceCodecError,
  type ChannelCredential,
  type ChannelKeyStore,
} from "../src/index";
import type { TDeviceState } from "@veil/protocol";

const MAC = "02:00:00:00:00:2a";
const SITE: ChannelCredential = { type: "site", keyId: new Uint8Array(8).fill(9), key: new Uint8Array(32).fill(5) };
const HELLO = { kind: "ap", model: "U6LR", firmware: "6.5.28", hostname: "ap-1" } as const;

/** A counter-based deterministic RNG so whole sessions are reproducible. */
function seededRandom(seed: number): (n: number) => Uint8Array {
  let s = seed;
  return (n) => Uint8Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
}

function store(deviceKeys: Map<string, Uint8Array> = new Map()): ChannelKeyStore {
  const id = (b: Uint8Array): string => Buffer.from(b).toString("hex");
  return {
    siteKey: (keyId) => (id(keyId) === id(SITE.keyId) ? SITE.key : undefined),
    deviceKey: (mac, keyId) => deviceKeys.get(`${mac}/${id(keyId)}`),
  };
}

function connect(
  credential: ChannelCredential,
  keys: ChannelKeyStore,
  seed = 1,
  limits?: { rekeyAfter: number; maxFrames: number },
) {
  const server = new DeviceChannelServer({ keys, random: seededRandom(seed), ...(limits ? { limits } : {}) });
  const client = new DeviceChannelClient({
    mac: MAC,
    credential,
    random: seededRandom(seed + 100),
    ...(limits ? { limits } : {}),
  });
  const accepted = server.receiveHello(client.hello(server.challenge(), HELLO));
  return { server, client, accepted };
}

const state = (seq: number): TDeviceState => ({
  mac: MAC,
  kind: "ap",
  model: "U6LR",
  modelDisplay: "U6 Long-Range",
  firmware: "6.5.28",
  hostname: "ap-1",
  ip: "127.0.0.2",
  uptime: seq,
  cpu: 3,
  memory: { totalBytes: 1000, usedBytes: 500 },
  locating: false,
  interfaces: [],
  clients: [],
});

function reason(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (e instanceof DeviceCodecError) return e.reason;
    throw e;
  }
}

describe("device channel: adoption by site key, then per-device key", () => {
  it("site key hello → key issue → reconnect under the device key", () => {
    const { server, client, accepted } = connect(SITE, store());
    expect(accepted).toMatchObject({ mac: MAC, keyType: "site", hello: { type: "hello", model: "U6LR" } });
    const issued = server.issueDeviceKey();
    const msg = client.receive(issued.frame);
    expect(msg.type).toBe("key_issue");
    expect(client.issuedKey?.type).toBe("device");
    expect(Buffer.from(client.issuedKey?.key ?? []).equals(Buffer.from(issued.key))).toBe(true);
    expect(
      server.receive(client.send({ type: "key_ack", keyId: Buffer.from(issued.keyId).toString("base64url") })).type,
    ).toBe("key_ack");

    const deviceKeys = new Map([[`${MAC}/${Buffer.from(issued.keyId).toString("hex")}`, issued.key]]);
    const cred = client.issuedKey;
    if (!cred) throw new Error("no key");
    const second = connect(cred, store(deviceKeys), 7);
    expect(second.accepted.keyType).toBe("device");
    expect(second.server.receive(second.client.send({ type: "inform", seq: 1, state: state(1) }))).toMatchObject({
      type: "inform",
      seq: 1,
    });
    const cmd = second.client.receive(second.server.send({ type: "command", id: "c1", command: { name: "reboot" } }));
    expect(cmd).toEqual({ type: "command", id: "c1", command: { name: "reboot" } });
    expect(() => second.server.issueDeviceKey()).toThrow(DeviceCodecError); // only site-key sessions
  });

  it("is deterministic under an injected RNG", () => {
    const a = connect(SITE, store(), 3);
    const b = connect(SITE, store(), 3);
    expect(Buffer.from(a.server.issueDeviceKey().frame).equals(Buffer.from(b.server.issueDeviceKey().frame))).toBe(
      true,
    );
  });

  it("an unknown key id, a wrong key or a device key for another MAC is refused at hello", () => {
    const wrongId: ChannelCredential = { ...SITE, keyId: new Uint8Array(8) };
    expect(reason(() => connect(wrongId, store()))).toBe("auth_failed");
    const wrongKey: ChannelCredential = { ...SITE, key: new Uint8Array(32).fill(6) };
    expect(reason(() => connect(wrongKey, store()))).toBe("auth_failed");
    const dev: ChannelCredential = {
      type: "device",
      keyId: new Uint8Array(8).fill(1),
      key: new Uint8Array(32).fill(1),
    };
    const otherMac = new Map([[`02:00:00:00:00:2b/${"01".repeat(8)}`, dev.key]]);
    expect(reason(() => connect(dev, store(otherMac)))).toBe("auth_failed");
  });
});

describe("device channel: replay, reorder, reflection, tampering", () => {
  it("drops replays and reordered frames; the session continues", () => {
    const { server, client } = connect(SITE, store());
    const f1 = client.send({ type: "inform", seq: 1, state: state(1) });
    const f2 = client.send({ type: "inform", seq: 2, state: state(2) });
    const f3 = client.send({ type: "inform", seq: 3, state: state(3) });
    expect(server.receive(f1).type).toBe("inform");
    expect(reason(() => server.receive(f1))).toBe("replayed");
    expect(server.receive(f3).type).toBe("inform");
    expect(reason(() => server.receive(f2))).toBe("replayed"); // reordered: older than the last accepted
    expect(server.receive(client.send({ type: "inform", seq: 4, state: state(4) })).type).toBe("inform");
  });

  it("drops a frame reflected back to its sender (wrong direction)", () => {
    const { server, client } = connect(SITE, store());
    const up = client.send({ type: "inform", seq: 1, state: state(1) });
    expect(reason(() => client.receive(up))).toBe("auth_failed");
    const down = server.send({ type: "welcome", interval: 10, serverTime: 1, adopted: false });
    expect(reason(() => server.receive(down))).toBe("auth_failed");
  });

  it("a replayed hello fails in a new connection (fresh companion random)", () => {
    const s1 = new DeviceChannelServer({ keys: store() });
    const c1 = new DeviceChannelClient({ mac: MAC, credential: SITE });
    const hello = c1.hello(s1.challenge(), HELLO);
    s1.receiveHello(hello);
    const s2 = new DeviceChannelServer({ keys: store() });
    s2.challenge();
    expect(reason(() => s2.receiveHello(hello))).toBe("auth_failed");
  });

  it("a connection allows one hello attempt: after a failure even the right hello is refused", () => {
    const server = new DeviceChannelServer({ keys: store() });
    const challenge = server.challenge();
    const bad = new DeviceChannelClient({ mac: MAC, credential: { ...SITE, key: new Uint8Array(32).fill(6) } }).hello(
      challenge,
      HELLO,
    );
    expect(reason(() => server.receiveHello(bad))).toBe("auth_failed");
    const good = new DeviceChannelClient({ mac: MAC, credential: SITE }).hello(challenge, HELLO);
    expect(reason(() => server.receiveHello(good))).toBe("state");
  });

  it("a frame from another session (other keys) is refused", () => {
    const a = connect(SITE, store(), 1);
    const b = connect(SITE, store(), 2);
    expect(reason(() => b.server.receive(a.client.send({ type: "inform", seq: 1, state: state(1) })))).toBe(
      "auth_failed",
    );
  });

  it("every flipped bit and every truncation of a data frame is refused, then the session still works", () => {
    const { server, client } = connect(SITE, store());
    const f = client.send({ type: "inform", seq: 1, state: state(1) });
    for (let i = 0; i < f.length; i++) {
      const q = Uint8Array.from(f);
      q[i] = (q[i] ?? 0) ^ 0x80;
      expect(
        reason(() => server.receive(q)),
        `byte ${i}`,
      ).not.toBe("ok");
      expect(
        reason(() => server.receive(f.subarray(0, i))),
        `length ${i}`,
      ).not.toBe("ok");
    }
    expect(server.receive(f).type).toBe("inform");
  });

  it("arbitrary frames throw only DeviceCodecError (fast-check)", () => {
    const { server } = connect(SITE, store());
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(reason(() => server.receive(bytes))).not.toBe("ok");
      }),
      { numRuns: 500 },
    );
  });

  it("the challenge must be well formed", () => {
    const c = new DeviceChannelClient({ mac: MAC, credential: SITE });
    expect(reason(() => c.hello(new Uint8Array(20), HELLO))).not.toBe("ok");
    expect(() => buildChallenge(new Uint8Array(3))).toThrow(RangeError);
  });
});

describe("device channel: rekey before the counter runs out", () => {
  it("raises needsRekey at rekeyAfter and refuses to seal past maxFrames", () => {
    const limits = { rekeyAfter: 4, maxFrames: 6 };
    const { server, client } = connect(SITE, store(), 1, limits);
    const send = (): unknown => server.receive(client.send({ type: "inform", seq: 1, state: state(1) }));
    send(); // counter 1
    send(); // counter 2
    expect(client.needsRekey).toBe(false);
    send(); // counter 3
    expect(client.needsRekey).toBe(true);
    expect(server.needsRekey).toBe(true);
    send(); // 4
    send(); // 5
    expect(reason(send)).toBe("exhausted");
    // A new session (fresh randoms) starts again at counter 0 with new keys.
    const fresh = connect(SITE, store(), 2, limits);
    expect(fresh.client.needsRekey).toBe(false);
  });
});
