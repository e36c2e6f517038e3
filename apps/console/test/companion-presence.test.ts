// A companion's socket and its presence row on one console node: a socket whose presence could
// not be written is not kept (its row would never say online), and a revocation that reaches the
// database but not the node holding the companion (another node's `node:revoke` event lost) still
// ends it, through the node's revocation sweep.
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { toBase64Url } from "@veil/crypto";
import { instances } from "@veil/db";
import type { TInstanceResponse, TRelayFrame, TSessionEnded } from "@veil/protocol";
import { companionHub } from "../src/server/instances/companion-hub";
import { startTestConsole, type TestConsole } from "./helpers/console";
import {
  browserSocket,
  connected,
  eventually,
  makeInstance,
  sendFrame,
  signUpKeyed,
  standInCompanion,
  type BrowserMadeInstance,
  type KeyedAccount,
} from "./helpers/instances";

/** The next `event` on `s`, or a rejection naming it after `ms`. */
function next<T>(s: Socket, event: string, ms = 6000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    s.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe("a companion's presence on its node", () => {
  let c: TestConsole;
  let admin: KeyedAccount;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    c = await startTestConsole();
    admin = await signUpKeyed(c.api, "admin@example.test");
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await c?.stop();
  });

  const addInstance = async (name: string): Promise<BrowserMadeInstance> => {
    const inst = await makeInstance(admin, name);
    expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    return inst;
  };
  const companion = (inst: BrowserMadeInstance): Socket => {
    const s = standInCompanion(`https://localhost:${c.running.httpsPort}`, c.running.certificate.certPem, inst);
    sockets.push(s);
    return s;
  };
  const online = async (inst: BrowserMadeInstance): Promise<boolean> => {
    const r = await c.api(`/api/instances/${inst.instanceId}`, { token: admin.token });
    return (r.json as TInstanceResponse).instance.presence.online;
  };

  it("a companion whose presence write fails is disconnected, and shows online once it connects again", async () => {
    const inst = await addInstance("flaky database site");
    // The companion's presence write (the first write to the instances table from now) fails, as
    // when the database connection resets.
    const update = vi.spyOn(c.running.services.db, "update").mockImplementationOnce((table) => {
      expect(table).toBe(instances);
      const failing = {
        set: () => failing,
        where: () => failing,
        returning: () => Promise.reject(new Error("connection reset")),
      };
      return failing as unknown as ReturnType<typeof c.running.services.db.update>;
    });
    try {
      const first = companion(inst);
      const gone = next<string>(first, "disconnect");
      await connected(first);
      // Not kept with a row that never says online: it connects again (with its backoff).
      expect(await gone).toBe("io server disconnect");
      expect(update).toHaveBeenCalled();
    } finally {
      update.mockRestore();
    }
    expect(companionHub(c.running.services).connectedInstanceIds()).not.toContain(inst.instanceId);
    expect(await online(inst)).toBe(false);

    const second = companion(inst);
    await connected(second);
    await eventually(() => online(inst), 5000, "the instance to show online");
    expect(second.connected).toBe(true);
    expect(companionHub(c.running.services).connectedInstanceIds()).toContain(inst.instanceId);
    second.disconnect();
  });

  it(
    "a companion revoked in the database without its node being told is still ended within 5 s by the revocation sweep, with its browsers' sessions",
    { timeout: 20_000 },
    async () => {
      const inst = await addInstance("revoked elsewhere site");
      const s = companion(inst);
      await connected(s);
      await eventually(() => online(inst), 5000, "the instance to show online");
      // A browser here holds a session with it.
      const browser = browserSocket(c.running.httpsPort, c.running.certificate.certPem, admin.token);
      sockets.push(browser);
      const atBrowser: TRelayFrame[] = [];
      browser.on("e2e:frame", (f: TRelayFrame) => atBrowser.push(f));
      browser.on("e2e:frames", (fs: TRelayFrame[]) => atBrowser.push(...fs));
      await connected(browser);
      const sessionId = toBase64Url(randomBytes(16));
      const hello: TRelayFrame = { instanceId: inst.instanceId, sessionId, kind: "handshake", frame: "AAAA" };
      expect(await sendFrame(browser, hello)).toEqual({ ok: true });

      // As another node revokes it whose `node:revoke` event is lost: the row only.
      const ended = next<TSessionEnded>(s, "session:ended");
      const gone = next<string>(s, "disconnect");
      const started = Date.now();
      await c.running.services.db
        .update(instances)
        .set({ revokedAt: new Date() })
        .where(eq(instances.id, inst.instanceId));
      expect(await ended).toEqual({ reason: "instance_revoked" });
      await gone;
      expect(Date.now() - started).toBeLessThan(5000);
      await eventually(() => atBrowser.length > 0, 2000, "the browser's session to close");
      expect(atBrowser).toEqual([
        {
          instanceId: inst.instanceId,
          sessionId,
          kind: "close",
          frame: Buffer.from("instance_revoked").toString("base64url"),
        },
      ]);
    },
  );
});
