// One account cannot spend the relay budget of others: what a companion sends is charged first
// to the receiving browser socket and its account, so a flood of large answers that one account
// asked for is refused against that account alone, and other accounts' frames still pass.
import { randomBytes } from "node:crypto";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toBase64Url } from "@veil/crypto";
import { PROTOCOL_VERSION, type TRelayFrame, type TSocketAck } from "@veil/protocol";
import { startTestConsole, type TestConsole } from "./helpers/console";
import {
  browserSocket,
  connected,
  inviteKeyed,
  makeInstance,
  sendFrame,
  signGrantBundle,
  signUpKeyed,
  type KeyedAccount,
} from "./helpers/instances";

describe("relay budgets are per receiving account", () => {
  let c: TestConsole;
  let admin: KeyedAccount;
  let viewer: KeyedAccount;
  const sockets: Socket[] = [];
  // The relay's budgets read this frozen clock: a flood is metered the same however slowly this
  // machine sends it (no refill while it runs); each test starts a minute later, buckets full.
  let relayNow = 1_000_000;
  beforeEach(() => {
    relayNow += 60_000;
  });

  beforeAll(async () => {
    c = await startTestConsole({ driver: "pglite", relayClock: () => relayNow });
    admin = await signUpKeyed(c.api, "admin@example.test");
    viewer = await inviteKeyed(c.api, admin, "viewer@example.test", "viewer");
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await c?.stop();
  });

  it("a flood of answers to one account's session is refused for it alone", async () => {
    const inst = await makeInstance(admin, "fair site");
    expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    const expiresAt = Date.now() + 3600_000;
    const bundle = signGrantBundle(admin, viewer, inst.instanceId, "viewer", expiresAt);
    expect(
      (
        await c.api(`/api/instances/${inst.instanceId}/grants`, {
          body: { accountId: viewer.userId, role: "viewer", expiresAt, bundle },
          token: admin.token,
        })
      ).status,
    ).toBe(201);

    // A stand-in companion on the instance's own credentials: it only relays frames.
    const companion = connect(`https://localhost:${c.running.httpsPort}/companion`, {
      transports: ["websocket"],
      ca: c.running.certificate.certPem,
      auth: {
        instanceId: inst.instanceId,
        authKey: inst.body.authKey,
        protocolVersion: PROTOCOL_VERSION,
        companionVersion: "test",
      },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(companion);
    await new Promise<void>((resolve, reject) => {
      companion.once("connect", () => resolve());
      companion.once("connect_error", reject);
    });
    companion.on("e2e:frame", () => undefined);

    const open = async (account: KeyedAccount): Promise<string> => {
      const s = browserSocket(c.running.httpsPort, c.running.certificate.certPem, account.token);
      sockets.push(s);
      await connected(s);
      const sessionId = toBase64Url(randomBytes(16));
      let ack: TSocketAck = { ok: false, error: { code: "unavailable", message: "", retryable: true } };
      // The companion's presence reaches the relay a moment after it connects.
      for (let i = 0; i < 50 && !ack.ok; i++) {
        ack = await sendFrame(s, { instanceId: inst.instanceId, sessionId, kind: "handshake", frame: "AAAA" });
        if (!ack.ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ack).toEqual({ ok: true });
      return sessionId;
    };
    const viewerSession = await open(viewer);
    const adminSession = await open(admin);

    const big = toBase64Url(randomBytes(48_000)); // 64,000 characters, near the largest frame
    const answer = (sessionId: string): Promise<TSocketAck> =>
      companion.timeout(5000).emitWithAck("e2e:frame", {
        instanceId: inst.instanceId,
        sessionId,
        kind: "transport",
        frame: big,
      } satisfies TRelayFrame) as Promise<TSocketAck>;

    // 200 large answers at once to the viewer's session: past its socket's burst (4 MiB) the
    // rest are refused — charged to the viewer, not to the companion's shared budget.
    const flood = await Promise.all(Array.from({ length: 200 }, () => answer(viewerSession)));
    const refused = flood.filter((a) => !a.ok);
    expect(refused.length).toBeGreaterThan(50);
    expect(refused[0]).toMatchObject({ ok: false, error: { code: "rate_limited" } });

    // The admin's session is unaffected.
    const others = await Promise.all(Array.from({ length: 20 }, () => answer(adminSession)));
    expect(others.every((a) => a.ok)).toBe(true);
  });

  /**
   * `count` handshakes for `instanceId` at once from a new socket of `account` (with no grant, so
   * each one that passes the budget is refused `forbidden` by the authorization query): the
   * acknowledgement codes counted.
   */
  const floodHandshakes = async (
    account: KeyedAccount,
    instanceId: string,
    count: number,
  ): Promise<Record<string, number>> => {
    const s = browserSocket(c.running.httpsPort, c.running.certificate.certPem, account.token);
    sockets.push(s);
    await connected(s);
    const acks = await Promise.all(
      Array.from({ length: count }, () =>
        sendFrame(s, { instanceId, sessionId: toBase64Url(randomBytes(16)), kind: "handshake", frame: "AAAA" }),
      ),
    );
    const out: Record<string, number> = {};
    for (const a of acks) {
      const code = a.ok ? "ok" : a.error.code;
      out[code] = (out[code] ?? 0) + 1;
    }
    return out;
  };

  it("meters session opens per account: a flood of forbidden handshakes is cut off before it costs queries", async () => {
    const stranger = await inviteKeyed(c.api, admin, "stranger@example.test", "operator");
    const inst = await makeInstance(admin, "closed site");
    expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    // Four sockets of one account, each within its own burst of 40: the account's budget (bursts
    // of 80) binds, not the sockets'. The relay's clock stands still here, so nothing refills.
    const floods = [];
    for (let k = 0; k < 4; k++) floods.push(await floodHandshakes(stranger, inst.instanceId, 40));
    expect(floods).toEqual([{ forbidden: 40 }, { forbidden: 40 }, { rate_limited: 40 }, { rate_limited: 40 }]);
  });

  it("meters session opens per socket too: one socket gets its own burst (40), the account's other sockets the rest", async () => {
    const loner = await inviteKeyed(c.api, admin, "loner@example.test", "operator");
    const inst = await makeInstance(admin, "another closed site");
    expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    // Each socket's burst of 40 reaches the authorization query; the rest of its 60 are refused
    // first. The account's burst of 80 is spent after two sockets.
    expect(await floodHandshakes(loner, inst.instanceId, 60)).toEqual({ forbidden: 40, rate_limited: 20 });
    expect(await floodHandshakes(loner, inst.instanceId, 60)).toEqual({ forbidden: 40, rate_limited: 20 });
    expect(await floodHandshakes(loner, inst.instanceId, 60)).toEqual({ rate_limited: 60 });
  });
});
