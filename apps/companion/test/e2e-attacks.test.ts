import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { fromBase64Url, signStatement, toBase64Url, type SignedStatement } from "../src/crypto";
import type { TGrantBundle, TRelayFrame } from "../src/protocol";
import type { RunningCompanion } from "../src/run/start-companion";
import { StateStore } from "../src/state/state-store";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import {
  certifyAccountBoxKey,
  makeAccount,
  makeInstance,
  memoDeriveTokenKeys,
  signDelegation,
  signGrant,
  type TestAccount,
  type TestInstance,
} from "./harness/fixtures";
import { BrowserSession, waitUntil } from "./harness/browser";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

describe("end-to-end sessions through a malicious console", () => {
  const cert = makeSelfSignedCert();
  const evil = new TestConsole(cert);
  const state = tempStateDir();
  const { logger, lines } = captureLogger();
  let admin: TestAccount;
  let instance: TestInstance;
  let companion: RunningCompanion;
  /** Token derivations the companion started: the first thing a `token.rotate` run does after taking its lock. */
  let derivations = 0;
  const deriveTokenKeys: typeof memoDeriveTokenKeys = (...args) => {
    derivations += 1;
    return memoDeriveTokenKeys(...args);
  };

  beforeAll(async () => {
    await evil.start();
    admin = makeAccount();
    instance = await makeInstance(admin);
    evil.instances.set(instance.instanceId, instance.record);
    await enrollInto(state.dir, instance.enrollment(evil.url, cert.pin), logger);
    companion = runCompanion(state.dir, logger, { deriveTokenKeys });
    await waitUntil(() => evil.isOnline(instance.instanceId), 5000, "online");
  });
  afterAll(async () => {
    companion.stop();
    await companion.finished;
    await evil.stop();
    state.cleanup();
  });
  beforeEach(() => {
    evil.tamper = {};
  });

  /** The companion's log, parsed (one JSON object a line). */
  const logged = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  /**
   * How many times a handler ran for request `id`: every handler call ends in exactly one of
   * these lines (src/e2e/dispatch-request.ts, run): a result, a throw, or a result that did not
   * parse. So a handler that ran and then threw counts too, not only one that succeeded.
   */
  const executed = (id: string): number =>
    logged().filter(
      (l) =>
        l.requestId === id &&
        (l.msg === "request executed" || l.msg === "request failed" || l.msg === "request produced an invalid result"),
    ).length;
  /**
   * The companion's reason for refusing session `sessionId`'s grant, as it logged it (the
   * browser is told only `grant_refused`).
   */
  const refusal = (sessionId: string): unknown =>
    logged().find((l) => l.msg === "session refused" && l.sessionId === sessionId)?.code;
  async function expectRefused(b: BrowserSession, code: string): Promise<void> {
    await expect(b.open()).rejects.toThrow(/grant_refused/);
    expect(refusal(b.sessionId)).toBe(code);
  }
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 150));
  const session = (account: TestAccount, bundle: TGrantBundle): BrowserSession =>
    new BrowserSession(evil, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      bundle,
    });
  const member = (role: "viewer" | "operator" | "admin" = "operator"): BrowserSession => {
    const account = makeAccount();
    return session(account, signGrant({ signer: admin, account, instanceId: instance.instanceId, role }));
  };

  it("replays an old request in the same session: rejected, session closed, run once", async () => {
    const b = member();
    await b.open();
    const r = await b.request("ping");
    const frame = b.sent.at(-1) as TRelayFrame;
    b.sendRaw(frame);
    await waitUntil(() => b.closedReason !== undefined, 2000, "close");
    expect(b.closedReason).toBe("replay");
    expect(executed(r.kind === "result" ? r.id : "?")).toBe(1);
  });

  it("replays the handshake and a request onto a new session: the request never opens", async () => {
    const b = member();
    await b.open();
    const { id, frame } = b.seal("ping");
    b.sendRaw(frame);
    await b.waitFor(id);
    const [hs] = b.sent;
    const newId = toBase64Url(new Uint8Array(16).fill(7));
    evil.sendToCompanion({ ...(hs as TRelayFrame), sessionId: newId });
    await settle();
    evil.sendToCompanion({ ...frame, sessionId: newId });
    await settle();
    expect(executed(id)).toBe(1);
    expect(lines.some((l) => l.includes(newId) && l.includes('"code":"forgery"'))).toBe(true);
  });

  it("reorders two requests: the first to arrive is a gap, the session closes, neither runs", async () => {
    const b = member();
    await b.open();
    const r1 = b.seal("ping");
    const r2 = b.seal("ping");
    b.sendRaw(r2.frame);
    b.sendRaw(r1.frame);
    await waitUntil(() => b.closedReason !== undefined, 2000, "close");
    expect(b.closedReason).toBe("gap");
    await settle();
    expect(executed(r1.id) + executed(r2.id)).toBe(0);
  });

  it("drops a request: the next one is a gap and does not run", async () => {
    const b = member();
    await b.open();
    const r1 = b.seal("ping");
    const r2 = b.seal("ping");
    evil.tamper.toCompanion = (f) => (f === r1.frame ? null : f);
    b.sendRaw(r1.frame);
    b.sendRaw(r2.frame);
    await waitUntil(() => b.closedReason !== undefined, 2000, "close");
    expect(b.closedReason).toBe("gap");
    expect(executed(r2.id)).toBe(0);
  });

  it("injects a session with a grant signed by nobody (garbage signature)", async () => {
    const account = makeAccount();
    const bundle = signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "admin" });
    const sig = fromBase64Url(bundle.grant.signature);
    sig[5] = (sig[5] ?? 0) ^ 1;
    const b = session(account, { ...bundle, grant: { ...bundle.grant, signature: toBase64Url(sig) } });
    await expectRefused(b, "bad_signature");
  });

  it("injects a session for a non-member (grant signed by an unknown key)", async () => {
    const account = makeAccount();
    const b = session(
      account,
      signGrant({ signer: makeAccount(), account, instanceId: instance.instanceId, role: "admin" }),
    );
    await expectRefused(b, "unknown_signer");
  });

  it("rewrites a viewer's grant to admin: the signature breaks", async () => {
    const account = makeAccount();
    const bundle = signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "viewer" });
    const grant = bundle.grant as SignedStatement;
    const b = session(account, { ...bundle, grant: { ...grant, body: { ...(grant.body as object), role: "admin" } } });
    await expectRefused(b, "bad_signature");
  });

  it("swaps in another member's valid grant: Noise_KK fails (the browser does not hold that box key)", async () => {
    const victim = makeAccount();
    const attacker = makeAccount();
    const b = session(
      attacker,
      signGrant({ signer: admin, account: victim, instanceId: instance.instanceId, role: "admin" }),
    );
    await expect(b.open()).rejects.toThrow(/handshake_failed/);
  });

  it("an admin-signed grant naming a box key the account never certified (supplied by the console) is refused", async () => {
    const victim = makeAccount();
    const consoleKeys = makeAccount();
    // The console gave the admin's browser its own box key for the victim; the admin signed it.
    const forged = { ...victim, box: consoleKeys.box };
    const bundle = signGrant({ signer: admin, account: forged, instanceId: instance.instanceId, role: "admin" });
    const b = session(forged, { ...bundle, boxKeyCertificate: certifyAccountBoxKey(victim) });
    await expectRefused(b, "box_key_uncertified");
  });

  it("refuses a box-key certificate older than one already seen for the account (rollback), after a restart too", async () => {
    const account = makeAccount();
    const fresh = signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "viewer" });
    const atEpoch = (epoch: number): BrowserSession =>
      session(account, { ...fresh, boxKeyCertificate: certifyAccountBoxKey(account, epoch) });
    const b1 = atEpoch(2);
    await b1.open();
    const b2 = atEpoch(1);
    await expectRefused(b2, "box_key_uncertified");
    b1.dispose();
    // The floor is kept in the state folder: a console that waits for a restart to present the
    // older certificate gets nowhere.
    companion.stop();
    await companion.finished;
    await waitUntil(() => !evil.isOnline(instance.instanceId), 5000, "offline");
    const floors = join(state.dir, "box-key-epochs.json");
    const saved = existsSync(floors) ? { mode: statSync(floors).mode & 0o777, text: readFileSync(floors, "utf8") } : {};
    companion = runCompanion(state.dir, logger, { deriveTokenKeys });
    await waitUntil(() => evil.isOnline(instance.instanceId), 5000, "online again");
    expect(saved).toEqual({ mode: 0o600, text: expect.any(String) as unknown });
    expect(JSON.parse(saved.text ?? "{}")).toMatchObject({
      version: 1,
      signer: { [`${account.accountId}/${toBase64Url(account.identity.publicKey)}`]: 2 },
    });
    const again = atEpoch(2);
    await again.open();
    again.dispose();
    await expectRefused(atEpoch(1), "box_key_uncertified");
  });

  it("a viewer's write is refused by the companion even though the console relays it: the token is not rotated", async () => {
    const b = member("viewer");
    await b.open();
    const record = evil.instances.get(instance.instanceId);
    const hashBefore = toBase64Url(record?.authKeyHash ?? new Uint8Array());
    const secretsBefore = readFileSync(join(state.dir, "secrets.json"), "utf8");
    const derivationsBefore = derivations;
    const rotations = (): number => evil.requests.filter((r) => r.path.endsWith("/rotate")).length;
    const rotationsBefore = rotations();
    const { id, frame } = b.seal("token.rotate");
    b.sendRaw(frame);
    const res = await b.waitFor(id);
    expect(res).toMatchObject({ kind: "error", id, error: { code: "forbidden", retryable: false } });
    await settle();
    // What a run of the handler leaves, even one refused or failed half-way: its lock file
    // (rotation.lock, taken at once), a token derivation, a `/rotate` call to the console (which
    // would replace its auth-key hash), a pending rotation or new secrets on disk, and a handler
    // outcome in the log.
    expect(readdirSync(state.dir).filter((f) => f.startsWith("rotation"))).toEqual([]);
    expect(derivations).toBe(derivationsBefore);
    expect(rotations()).toBe(rotationsBefore);
    expect(toBase64Url(evil.instances.get(instance.instanceId)?.authKeyHash ?? new Uint8Array())).toBe(hashBefore);
    expect(readFileSync(join(state.dir, "secrets.json"), "utf8")).toBe(secretsBefore);
    expect(new StateStore(state.dir).loadPendingRotation()).toBeUndefined();
    expect(executed(id)).toBe(0);
    expect(logged().filter((l) => l.requestId === id)).toEqual([
      expect.objectContaining({ msg: "request refused", code: "forbidden", role: "viewer" }),
    ]);
  });

  it("accepts one level of admin delegation, refuses a second level and a delegation for another instance", async () => {
    const delegate = makeAccount();
    const delegation = signDelegation(admin, delegate, instance.instanceId);
    const account = makeAccount();
    const ok = session(
      account,
      signGrant({ signer: delegate, account, instanceId: instance.instanceId, role: "operator", delegation }),
    );
    expect(await ok.open()).toMatchObject({ role: "operator" });
    const second = makeAccount();
    const chained = signDelegation(delegate, second, instance.instanceId);
    const a2 = makeAccount();
    await expectRefused(
      session(
        a2,
        signGrant({ signer: second, account: a2, instanceId: instance.instanceId, role: "admin", delegation: chained }),
      ),
      "delegation_invalid",
    );
    const elsewhere = signDelegation(admin, delegate, "00000000-0000-4000-8000-000000000000");
    const a3 = makeAccount();
    await expectRefused(
      session(
        a3,
        signGrant({
          signer: delegate,
          account: a3,
          instanceId: instance.instanceId,
          role: "admin",
          delegation: elsewhere,
        }),
      ),
      "delegation_invalid",
    );
  });

  it("a delegated admin cannot lock an account out by certifying a box key for it under an identity key of its own", async () => {
    const delegate = makeAccount();
    const delegation = signDelegation(admin, delegate, instance.instanceId);
    const victim = makeAccount();
    // The delegate makes up keys for the victim's account id and certifies them at the highest epoch.
    const forged: TestAccount = { ...makeAccount(), accountId: victim.accountId };
    const grant = signGrant({
      signer: delegate,
      account: forged,
      instanceId: instance.instanceId,
      role: "viewer",
      delegation,
    });
    const b = session(forged, { ...grant, boxKeyCertificate: certifyAccountBoxKey(forged, Number.MAX_SAFE_INTEGER) });
    await b.open();
    b.dispose();
    // The victim's own key, certified at epoch 0, still opens: the floor raised was the forged key's.
    const own = session(
      victim,
      signGrant({ signer: admin, account: victim, instanceId: instance.instanceId, role: "viewer" }),
    );
    expect(await own.open()).toMatchObject({ role: "viewer" });
    own.dispose();
  });

  it("refuses an expired grant", async () => {
    const account = makeAccount();
    const b = session(
      account,
      signGrant({
        signer: admin,
        account,
        instanceId: instance.instanceId,
        role: "admin",
        expiresAt: Date.now() - 1000,
        issuedAt: Date.now() - 5000,
      }),
    );
    await expectRefused(b, "expired");
  });

  it("rewrites envelope metadata: version byte, counter, session id", async () => {
    const b = member();
    await b.open();
    const r = b.seal("ping");
    const bytes = fromBase64Url(r.frame.frame);
    bytes[0] = 2;
    b.sendRaw({ ...r.frame, frame: toBase64Url(bytes) });
    await waitUntil(() => b.closedReason !== undefined, 2000, "close");
    expect(b.closedReason).toBe("unsupported_version");

    const c = member();
    await c.open();
    const rc = c.seal("ping");
    const cb = fromBase64Url(rc.frame.frame);
    cb[8] = 1; // counter 0 → 1
    c.sendRaw({ ...rc.frame, frame: toBase64Url(cb) });
    await waitUntil(() => c.closedReason !== undefined, 2000, "close");
    expect(c.closedReason).toBe("gap");

    // A frame of session d re-addressed to session e fails e's authentication.
    const d = member();
    const e = member();
    await d.open();
    await e.open();
    const rd = d.seal("ping");
    d.sendRaw({ ...rd.frame, sessionId: e.sessionId });
    await waitUntil(() => e.closedReason !== undefined, 2000, "close");
    expect(e.closedReason).toBe("forgery");
    expect(executed(r.id) + executed(rc.id) + executed(rd.id)).toBe(0);
  });

  it("flips a bit in a reply: the browser's crypto fails with `forgery`, it ends the session and delivers no answer", async () => {
    const b = member();
    await b.open();
    evil.tamper.toBrowser = (f) => {
      if (f.kind !== "transport") return f;
      const bytes = fromBase64Url(f.frame);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
      return { ...f, frame: toBase64Url(bytes) };
    };
    const { id, frame } = b.seal("system.info");
    b.sendRaw(frame);
    await expect(b.waitFor(id)).rejects.toMatchObject({ name: "SessionClosed", reason: "forgery" });
    expect(b.failures).toEqual(["forgery"]);
    expect(b.closed).toBe(true);
    expect(b.responses).toEqual([]);
    // The browser told the companion, which ended its side too.
    await waitUntil(() => !companion.responder.sessions().some((s) => s.sessionId === b.sessionId), 2000, "closed");
  });

  it("a console cannot forge a request from a grant it copied: it has no session key", async () => {
    const b = member("admin");
    await b.open();
    // The console crafts a "transport" frame with a plausible header and random ciphertext.
    const fake = new Uint8Array(9 + 64);
    fake[0] = 1;
    crypto.getRandomValues(fake.subarray(9));
    evil.sendToCompanion({
      instanceId: instance.instanceId,
      sessionId: b.sessionId,
      kind: "transport",
      frame: toBase64Url(fake),
    });
    await waitUntil(() => b.closedReason !== undefined, 2000, "close");
    expect(b.closedReason).toBe("forgery");
  });

  it("signed statements cannot cross domains (a certificate is not a grant)", async () => {
    const account = makeAccount();
    const body = signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "admin" }).grant.body;
    const wrongDomain = signStatement("veil/v1/instance-certificate", body as never, admin.identity.privateKey);
    const b = session(account, {
      grant: { ...wrongDomain, domain: "veil/v1/grant" },
      signerPublicKey: toBase64Url(admin.identity.publicKey),
      boxKeyCertificate: certifyAccountBoxKey(account),
    });
    await expectRefused(b, "bad_signature");
  });
});
