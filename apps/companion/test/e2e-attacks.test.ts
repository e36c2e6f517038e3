import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { fromBase64Url, signStatement, toBase64Url, type SignedStatement } from "../src/crypto";
import type { TGrantBundle, TRelayFrame } from "../src/protocol";
import type { RunningCompanion } from "../src/run/start-companion";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import {
  certifyAccountBoxKey,
  makeAccount,
  makeInstance,
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
    companion.stop();
    await companion.finished;
    await evil.stop();
    state.cleanup();
  });
  beforeEach(() => {
    evil.tamper = {};
  });

  const executed = (id: string): number =>
    lines.filter((l) => l.includes('"request executed"') && l.includes(id)).length;
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 150));
  const session = (
    account: TestAccount,
    bundle: TGrantBundle,
    instanceBoxPublicKey = instance.box.publicKey,
  ): BrowserSession =>
    new BrowserSession(evil, { instanceId: instance.instanceId, instanceBoxPublicKey, account, bundle });
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
    await expect(b.open()).rejects.toThrow(/grant_refused/);
  });

  it("injects a session for a non-member (grant signed by an unknown key)", async () => {
    const account = makeAccount();
    const b = session(
      account,
      signGrant({ signer: makeAccount(), account, instanceId: instance.instanceId, role: "admin" }),
    );
    await expect(b.open()).rejects.toThrow(/grant_refused/);
  });

  it("rewrites a viewer's grant to admin: the signature breaks", async () => {
    const account = makeAccount();
    const bundle = signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "viewer" });
    const grant = bundle.grant as SignedStatement;
    const b = session(account, { ...bundle, grant: { ...grant, body: { ...(grant.body as object), role: "admin" } } });
    await expect(b.open()).rejects.toThrow(/grant_refused/);
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
    await expect(b.open()).rejects.toThrow(/grant_refused/);
    expect(lines.some((l) => l.includes('"code":"box_key_uncertified"'))).toBe(true);
  });

  it("refuses a box-key certificate older than one already seen for the account (rollback), after a restart too", async () => {
    const account = makeAccount();
    const fresh = signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "viewer" });
    const atEpoch = (epoch: number): BrowserSession =>
      session(account, { ...fresh, boxKeyCertificate: certifyAccountBoxKey(account, epoch) });
    const b1 = atEpoch(2);
    await b1.open();
    const b2 = atEpoch(1);
    await expect(b2.open()).rejects.toThrow(/grant_refused/);
    b1.dispose();
    // The floor is kept in the state folder: a console that waits for a restart to present the
    // older certificate gets nowhere.
    companion.stop();
    await companion.finished;
    await waitUntil(() => !evil.isOnline(instance.instanceId), 5000, "offline");
    const floors = join(state.dir, "box-key-epochs.json");
    const saved = existsSync(floors) ? { mode: statSync(floors).mode & 0o777, text: readFileSync(floors, "utf8") } : {};
    companion = runCompanion(state.dir, logger);
    await waitUntil(() => evil.isOnline(instance.instanceId), 5000, "online again");
    expect(saved).toEqual({ mode: 0o600, text: expect.any(String) as unknown });
    expect(JSON.parse(saved.text ?? "{}")).toMatchObject({
      version: 1,
      signer: { [`${account.accountId}/${toBase64Url(account.identity.publicKey)}`]: 2 },
    });
    const again = atEpoch(2);
    await again.open();
    again.dispose();
    await expect(atEpoch(1).open()).rejects.toThrow(/grant_refused/);
  });

  it("a viewer's write is refused by the companion even though the console relays it", async () => {
    const b = member("viewer");
    await b.open();
    const res = await b.request("token.rotate");
    expect(res).toMatchObject({ kind: "error", error: { code: "forbidden", retryable: false } });
    expect(executed(res.kind === "error" ? (res.id ?? "?") : "?")).toBe(0);
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
    await expect(
      session(
        a2,
        signGrant({ signer: second, account: a2, instanceId: instance.instanceId, role: "admin", delegation: chained }),
      ).open(),
    ).rejects.toThrow(/grant_refused/);
    const elsewhere = signDelegation(admin, delegate, "00000000-0000-4000-8000-000000000000");
    const a3 = makeAccount();
    await expect(
      session(
        a3,
        signGrant({
          signer: delegate,
          account: a3,
          instanceId: instance.instanceId,
          role: "admin",
          delegation: elsewhere,
        }),
      ).open(),
    ).rejects.toThrow(/grant_refused/);
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
    await expect(b.open()).rejects.toThrow(/grant_refused/);
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

  it("the browser detects a swapped instance key (the companion cannot answer) and tampered replies", async () => {
    const account = makeAccount();
    const bundle = signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "viewer" });
    const fake = makeAccount().box.publicKey;
    await expect(session(account, bundle, fake).open()).rejects.toThrow(/handshake_failed/);

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
    await waitUntil(() => b.failures.length > 0, 2000, "browser failure");
    expect(b.failures).toContain("forgery");
    expect(b.responses.find((x) => x.kind === "result" && x.id === id)).toBeUndefined();
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
    await expect(b.open()).rejects.toThrow(/grant_refused/);
  });
});
