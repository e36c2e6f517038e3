// What a browser profile remembers across visits — signer pins (client/instances/trust.ts),
// audit heads (companion-audit/audit-continuity.ts) and snapshot sequences
// (snapshots/use-last-known.ts) — belongs to the account, and the identity key, that confirmed
// or verified it. Account A confirming a signer (perhaps one a console forged) and signing out
// must not leave account B, signing in on the same profile, with that signer "pinned": B is
// asked to compare the safety code itself. Entries from before they were kept per account (v1)
// are trusted for nobody.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { generateBoxKeyPair, generateIdentityKeyPair, signStatement, toBase64Url } from "@veil/crypto";
import { INSTANCE_CERTIFICATE_DOMAIN, type TInstanceSummary } from "@veil/protocol";

const session = vi.hoisted((): { state: unknown } => ({ state: { status: "anonymous", notice: null } }));
vi.mock("../src/client/session-store", () => ({ getState: () => session.state }));

const store = new Map<string, string>();
vi.stubGlobal("localStorage", {
  getItem: (k: string) => store.get(k) ?? null,
  setItem: (k: string, v: string) => void store.set(k, v),
  removeItem: (k: string) => void store.delete(k),
});

const { pinSigner, signerPinState, verifyInstance } = await import("../src/client/instances/trust");
const { rememberHead, seenHead } = await import("../src/client/companion-audit/audit-continuity");
const { highestFor, recordSequence } = await import("../src/client/snapshots/use-last-known");

/** An account of the profile, and a way to make it the signed-in one. */
function account() {
  const id = crypto.randomUUID();
  const identity = generateIdentityKeyPair();
  const owner = { accountId: id, identityPublicKey: identity.publicKey };
  const signIn = () => {
    session.state = { status: "ready", me: { user: { id } }, keys: { identity }, safetyCode: "" };
  };
  return { owner, signIn };
}
const signOut = () => {
  session.state = { status: "anonymous", notice: "You have signed out." };
};

/** An instance whose certificate the console signed with a key of its own. */
function forged() {
  const console = generateIdentityKeyPair();
  const id = crypto.randomUUID();
  const body = {
    instanceId: id,
    name: "HQ",
    identityPublicKey: toBase64Url(generateIdentityKeyPair().publicKey),
    boxPublicKey: toBase64Url(generateBoxKeyPair().publicKey),
    issuedAt: Date.now(),
  };
  const instance = {
    id,
    name: "HQ",
    identityPublicKey: body.identityPublicKey,
    boxPublicKey: body.boxPublicKey,
    certificate: {
      statement: signStatement(INSTANCE_CERTIFICATE_DOMAIN, body, console.privateKey),
      signerPublicKey: toBase64Url(console.publicKey),
    },
  } as unknown as TInstanceSummary;
  return { id, verified: verifyInstance(instance) };
}

const head = (seq: number) => ({ seq, hash: "ab".repeat(32), at: 1_700_000_000_000 });

beforeEach(() => {
  store.clear();
  signOut();
});

describe("signer pins are the confirming account's", () => {
  it("a signer A confirmed is not pinned for B after A signs out, and stays pinned for A", () => {
    const a = account();
    const b = account();
    const { id, verified } = forged();
    a.signIn();
    expect(signerPinState(id, verified)).toBe("unknown");
    pinSigner(id, verified); // A clicks "The codes match"
    expect(signerPinState(id, verified)).toBe("pinned");
    signOut();
    expect(signerPinState(id, verified)).toBe("unknown");
    b.signIn();
    expect(signerPinState(id, verified)).toBe("unknown"); // B is asked to compare the code itself
    signOut();
    a.signIn();
    expect(signerPinState(id, verified)).toBe("pinned");
  });

  it("the same account with another identity key (a key reset) is asked again", () => {
    const a = account();
    const { id, verified } = forged();
    pinSigner(id, verified, a.owner);
    const reset = { accountId: a.owner.accountId, identityPublicKey: generateIdentityKeyPair().publicKey };
    expect(signerPinState(id, verified, reset)).toBe("unknown");
    expect(signerPinState(id, verified, a.owner)).toBe("pinned");
  });

  it("an old per-profile pin is trusted for no account, and is dropped", () => {
    const a = account();
    const { id, verified } = forged();
    pinSigner(id, verified, a.owner);
    const fp = Object.values(JSON.parse(store.get("veil.instance-signers.v2") ?? "{}") as Record<string, object>)[0];
    store.set("veil.instance-signers.v1", JSON.stringify(fp));
    store.delete("veil.instance-signers.v2");
    const b = account();
    b.signIn();
    expect(signerPinState(id, verified)).toBe("unknown");
    pinSigner(forged().id, forged().verified);
    expect(store.has("veil.instance-signers.v1")).toBe(false);
  });
});

describe("audit heads and snapshot sequences are the verifying account's", () => {
  it("an audit head A verified is not B's reference", () => {
    const a = account();
    const b = account();
    const instanceId = crypto.randomUUID();
    a.signIn();
    rememberHead(instanceId, head(40));
    expect(seenHead(instanceId)).toEqual(head(40));
    signOut();
    expect(seenHead(instanceId)).toBeUndefined();
    b.signIn();
    expect(seenHead(instanceId)).toBeUndefined();
    rememberHead(instanceId, head(3));
    expect(seenHead(instanceId)).toEqual(head(3));
    signOut();
    a.signIn();
    expect(seenHead(instanceId)).toEqual(head(40));
  });

  it("an old per-profile audit head is nobody's", () => {
    const instanceId = crypto.randomUUID();
    store.set("veil.audit-heads.v1", JSON.stringify({ [instanceId]: head(99) }));
    const a = account();
    a.signIn();
    expect(seenHead(instanceId)).toBeUndefined();
    rememberHead(instanceId, head(1));
    expect(seenHead(instanceId)).toEqual(head(1));
    expect(store.has("veil.audit-heads.v1")).toBe(false);
  });

  it("a snapshot sequence A accepted is not B's floor; an old per-profile one is nobody's", () => {
    const a = account();
    const b = account();
    const instanceId = crypto.randomUUID();
    store.set("veil.snapshot-sequences.v1", JSON.stringify({ [instanceId]: 500 }));
    expect(highestFor(a.owner, instanceId)).toBe(0);
    recordSequence(a.owner, instanceId, 7);
    expect(highestFor(a.owner, instanceId)).toBe(7);
    expect(highestFor(b.owner, instanceId)).toBe(0);
    recordSequence(a.owner, instanceId, 3); // never lowered
    expect(highestFor(a.owner, instanceId)).toBe(7);
    expect(store.has("veil.snapshot-sequences.v1")).toBe(false);
  });
});
