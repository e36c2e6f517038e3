// The console replays, reorders and drops the companion's replies on their way to the browser.
// The browser here is the console's real one (apps/console src/client/instances/e2e-channel.ts,
// InstanceChannel) run in Node through the stand-in console's browser endpoint: what a caller
// of `channel.request` observes is what a page observes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import type { TRelayFrame } from "../src/protocol";
import type { RunningCompanion } from "../src/run/start-companion";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, signGrant, type TestAccount, type TestInstance } from "./harness/fixtures";
import { waitUntil } from "./harness/browser";
import { realChannel, restoreBrowserGlobals, type RealChannel } from "./harness/real-channel";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

describe("the console replays, reorders or drops the companion's replies: the real browser channel ends the session", () => {
  const cert = makeSelfSignedCert();
  const evil = new TestConsole(cert);
  const state = tempStateDir();
  const { logger, lines } = captureLogger();
  let admin: TestAccount;
  let instance: TestInstance;
  let companion: RunningCompanion;
  const opened: RealChannel[] = [];

  beforeAll(async () => {
    await evil.start();
    admin = makeAccount();
    instance = await makeInstance(admin);
    evil.instances.set(instance.instanceId, instance.record);
    await enrollInto(state.dir, instance.enrollment(evil.url, cert.pin), logger);
    companion = runCompanion(state.dir, logger);
    await waitUntil(() => evil.isOnline(instance.instanceId), 5000, "online");
  });
  afterAll(async () => {
    for (const c of opened) c.channel.close();
    restoreBrowserGlobals();
    companion.stop();
    await companion.finished;
    await evil.stop();
    state.cleanup();
  });
  beforeEach(() => {
    evil.tamper = {};
  });

  /** An operator's real channel, open. */
  async function open(): Promise<RealChannel> {
    const account = makeAccount();
    const bundle = signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "operator" });
    const c = await realChannel(evil, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      bundle,
    });
    opened.push(c);
    expect(await c.channel.open()).toMatchObject({ instanceId: instance.instanceId, role: "operator" });
    return c;
  }

  /** The companion's transport frames (its replies) for one session, as it sent them to the console. */
  const repliesOf = (sessionId: string): TRelayFrame[] =>
    evil.relayed.filter((f) => f.sessionId === sessionId && f.kind === "transport");

  /**
   * What every test ends with: the crypto error `code` closed the channel (its only close), each
   * pending request failed with that code instead of an answer, a later request is refused
   * without being sent, and the companion, told by the browser, ended its side too.
   */
  async function expectEnded(c: RealChannel, code: string, pending: Promise<unknown>[]): Promise<void> {
    for (const p of pending) await expect(p).rejects.toMatchObject({ name: "ChannelError", code });
    expect(c.closes).toEqual([code]);
    expect(c.channel.closed).toBe(true);
    const sentBefore = evil.fromBrowsers.length;
    await expect(c.channel.request("ping", {})).rejects.toMatchObject({ name: "ChannelError", code: "closed" });
    await waitUntil(
      () => !companion.responder.sessions().some((s) => s.sessionId === c.channel.sessionId),
      2000,
      "the companion ended its side",
    );
    expect(lines.some((l) => l.includes('"session closed"') && l.includes(c.channel.sessionId))).toBe(true);
    expect(evil.fromBrowsers.length).toBe(sentBefore);
  }

  it("replays an earlier reply in place of a later one: `replay`, the later request gets no answer", async () => {
    const c = await open();
    const first = await c.channel.request("ping", {});
    expect(first).toMatchObject({ receivedAt: expect.any(Number) as unknown });
    const [old] = repliesOf(c.channel.sessionId);
    evil.tamper.toBrowser = (f) => (f.sessionId === c.channel.sessionId && f.kind === "transport" ? (old ?? f) : f);
    const second = c.channel.request("ping", {});
    await expectEnded(c, "replay", [second]);
    // The companion did answer the second request: the console withheld it.
    expect(repliesOf(c.channel.sessionId)).toHaveLength(2);
  });

  it("reorders two replies: `gap` on the first to arrive, neither request gets an answer", async () => {
    const c = await open();
    let held: TRelayFrame | undefined;
    evil.tamper.toBrowser = (f) => {
      if (f.sessionId !== c.channel.sessionId || f.kind !== "transport") return f;
      if (held === undefined) {
        held = f;
        return null;
      }
      return [f, held];
    };
    const a = c.channel.request("ping", {});
    const b = c.channel.request("ping", {});
    await expectEnded(c, "gap", [a, b]);
    expect(repliesOf(c.channel.sessionId)).toHaveLength(2);
  });

  it("drops a reply followed by another: `gap`, neither request gets an answer", async () => {
    const c = await open();
    let dropped = 0;
    evil.tamper.toBrowser = (f) =>
      f.sessionId === c.channel.sessionId && f.kind === "transport" && dropped++ === 0 ? null : f;
    const a = c.channel.request("ping", {});
    const b = c.channel.request("ping", {});
    await expectEnded(c, "gap", [a, b]);
    expect(repliesOf(c.channel.sessionId)).toHaveLength(2);
  });

  it("drops the last reply: the caller times out (a gap shows only with a later frame), and the next reply is a `gap`", async () => {
    const c = await open();
    let dropped = 0;
    evil.tamper.toBrowser = (f) =>
      f.sessionId === c.channel.sessionId && f.kind === "transport" && dropped++ === 0 ? null : f;
    await expect(c.channel.request("ping", {}, 400)).rejects.toMatchObject({ name: "ChannelError", code: "timeout" });
    // Nothing the browser could see yet: the session is still open (docs/PROTOCOL-SESSION.md, "It can").
    expect(c.closes).toEqual([]);
    const next = c.channel.request("ping", {});
    await expectEnded(c, "gap", [next]);
  });
});
