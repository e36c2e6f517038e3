import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { io as connect, type Socket } from "socket.io-client";
import {
  certifyBoxKey,
  deriveInstanceTokenKeys,
  fromBase64Url,
  fromUtf8,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  generateKdfParams,
  generateToken,
  initiateSession,
  signStatement,
  toBase64Url,
  utf8,
  wrapKey,
  WRAP_PURPOSES,
  type BoxKeyPair,
  type DerivedKeys,
  type IdentityKeyPair,
  type Session,
} from "@veil/crypto";
import {
  encodeSessionOpen,
  GRANT_DOMAIN,
  INSTANCE_CERTIFICATE_DOMAIN,
  onRelayFrames,
  PROTOCOL_VERSION,
  SESSION_PROTOCOL_VERSION,
  ZCompanionHelloSchema,
  ZE2EResponseSchema,
  type TCompanionHello,
  type TE2EResponse,
  type TGrantBundle,
  type TInstanceCreateRequest,
  type TRelayFrame,
  type TRole,
  type TSessionIssued,
  type TSocketAck,
} from "@veil/protocol";
import { signupBody, stepUp, type TestAccount } from "./accounts";
import type { Client } from "./http";

/** An account whose browser holds real key pairs (instances and grants need real signatures). */
export interface KeyedAccount extends TestAccount {
  readonly identity: IdentityKeyPair;
  readonly box: BoxKeyPair;
  readonly boxKeyCertificate: TGrantBundle["boxKeyCertificate"];
}

/** Signs up with real identity and box keys (the console checks neither, the companion does). */
export async function signUpKeyed(api: Client, email: string, inviteToken?: string): Promise<KeyedAccount> {
  const { userId, authKey, body } = signupBody(email, inviteToken ? { inviteToken } : {});
  const identity = generateIdentityKeyPair();
  const box = generateBoxKeyPair();
  const boxKeyCertificate = certifyBoxKey(identity.privateKey, box.publicKey, {
    ownerKind: "account",
    ownerId: userId,
    purpose: "box",
    epoch: 0,
  });
  body.keys.identityPublicKey = toBase64Url(identity.publicKey);
  body.keys.boxPublicKey = toBase64Url(box.publicKey);
  const r = await api("/api/auth/signup", { body });
  if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${r.text}`);
  const session = r.json as TSessionIssued;
  return { userId, email, authKey, token: session.token, session, identity, box, boxKeyCertificate: boxKeyCertificate };
}

/** Admin invites `email` with `role`; the invitee signs up with real keys. */
export async function inviteKeyed(api: Client, admin: TestAccount, email: string, role: TRole): Promise<KeyedAccount> {
  await stepUp(api, admin);
  const r = await api("/api/invites", { body: { email, role }, token: admin.token });
  if (r.status !== 201) throw new Error(`invite failed: ${r.status} ${r.text}`);
  return signUpKeyed(api, email, (r.json as { token: string }).token);
}

/** What the admin's browser makes on "add instance" (docs/PROTOCOL-COMPANION.md §1). */
export interface BrowserMadeInstance {
  readonly instanceId: string;
  readonly token: string;
  readonly keys: DerivedKeys;
  readonly identity: IdentityKeyPair;
  readonly box: BoxKeyPair;
  readonly body: TInstanceCreateRequest;
}

export async function makeInstance(admin: KeyedAccount, name = "site-1"): Promise<BrowserMadeInstance> {
  const instanceId = randomUUID();
  const identity = generateIdentityKeyPair();
  const box = generateBoxKeyPair();
  const token = generateToken();
  const params = generateKdfParams();
  const keys = await deriveInstanceTokenKeys(token, params, instanceId);
  const statement = signStatement(
    INSTANCE_CERTIFICATE_DOMAIN,
    {
      instanceId,
      name,
      identityPublicKey: toBase64Url(identity.publicKey),
      boxPublicKey: toBase64Url(box.publicKey),
      issuedAt: Date.now(),
    },
    admin.identity.privateKey,
  );
  const body: TInstanceCreateRequest = {
    instanceId,
    name,
    kdf: {
      alg: "argon2id",
      memoryKiB: params.memoryKiB,
      iterations: params.iterations,
      parallelism: params.parallelism,
      salt: toBase64Url(params.salt),
    },
    authKey: toBase64Url(keys.authKey),
    identityPublicKey: toBase64Url(identity.publicKey),
    boxPublicKey: toBase64Url(box.publicKey),
    wrappedIdentityPrivateKey: toBase64Url(
      wrapKey(keys.wrapKey, identity.privateKey, {
        ownerId: instanceId,
        purpose: WRAP_PURPOSES.identityPrivateKey,
        publicKey: identity.publicKey,
      }),
    ),
    wrappedBoxPrivateKey: toBase64Url(
      wrapKey(keys.wrapKey, box.privateKey, {
        ownerId: instanceId,
        purpose: WRAP_PURPOSES.boxPrivateKey,
        publicKey: box.publicKey,
      }),
    ),
    certificate: { statement: statement, signerPublicKey: toBase64Url(admin.identity.publicKey) },
  };
  return { instanceId, token, keys, identity, box, body };
}

/** A grant bundle for `account`, signed by `signer` (the instance's pinned signer). */
export function signGrantBundle(
  signer: KeyedAccount,
  account: KeyedAccount,
  instanceId: string,
  role: TRole,
  expiresAt = Date.now() + 3600_000,
): TGrantBundle {
  const grant = signStatement(
    GRANT_DOMAIN,
    {
      grantId: randomUUID(),
      instanceId,
      accountId: account.userId,
      identityPublicKey: toBase64Url(account.identity.publicKey),
      boxPublicKey: toBase64Url(account.box.publicKey),
      role,
      issuedAt: Date.now(),
      expiresAt,
    },
    signer.identity.privateKey,
  );
  return {
    grant: grant,
    signerPublicKey: toBase64Url(signer.identity.publicKey),
    boxKeyCertificate: account.boxKeyCertificate,
  };
}

/** A browser's socket on the console's main namespace (session token in `auth`). */
export function browserSocket(port: number, ca: string, token: string): Socket {
  return connect(`https://localhost:${port}/`, {
    transports: ["websocket"],
    ca,
    auth: { token, protocolVersion: PROTOCOL_VERSION },
    reconnection: false,
    forceNew: true,
    timeout: 5000,
  });
}

/**
 * A stand-in companion socket for `inst` (its own credentials, this protocol version) on the
 * console at `origin` (the main port's or an inform port's): it only relays, as the tests decide.
 */
export function standInCompanion(origin: string, ca: string, inst: BrowserMadeInstance): Socket {
  return connect(`${origin}/companion`, {
    transports: ["websocket"],
    ca,
    auth: {
      instanceId: inst.instanceId,
      authKey: inst.body.authKey,
      protocolVersion: PROTOCOL_VERSION,
      companionVersion: "test",
    },
    reconnection: false,
    forceNew: true,
  });
}

export function connected(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.connected) return resolve();
    s.once("connect", () => resolve());
    s.once("connect_error", (e: Error) => reject(e));
  });
}

/** Emits one relay frame and resolves with the console's acknowledgement. */
export function sendFrame(s: Socket, frame: TRelayFrame): Promise<TSocketAck> {
  return s.timeout(5000).emitWithAck("e2e:frame", frame) as Promise<TSocketAck>;
}

/**
 * The browser end of an E2E session through the real console: Noise_KK initiator from
 * @veil/crypto, session-open with the grant bundle, requests sealed and responses opened
 * exactly as the browser does.
 */
export class RelaySession {
  readonly sessionId = toBase64Url(randomBytes(16));
  session: Session | undefined;
  closedReason: string | undefined;
  /** Frames from the companion that did not open or parse (`request` fails on the first). */
  readonly failures: string[] = [];
  /** Refusals of the frames `send` sent, by error code. */
  readonly refusals: string[] = [];
  readonly #responses = new Map<string, TE2EResponse>();
  #onHandshake: ((f: TRelayFrame) => void) | undefined;

  constructor(
    readonly socket: Socket,
    readonly options: {
      instanceId: string;
      instanceBoxPublicKey: Uint8Array;
      account: KeyedAccount;
      bundle: TGrantBundle;
    },
  ) {
    onRelayFrames(socket, (f) => this.#onFrame(f as TRelayFrame));
  }

  #onFrame(f: TRelayFrame): void {
    if (f.sessionId !== this.sessionId) return;
    if (f.kind === "close") {
      this.closedReason = fromUtf8(fromBase64Url(f.frame));
      this.#onHandshake?.(f);
      return;
    }
    if (f.kind === "handshake") return this.#onHandshake?.(f);
    if (!this.session) return;
    let msg: TE2EResponse;
    try {
      msg = ZE2EResponseSchema.parse(JSON.parse(fromUtf8(this.session.open(fromBase64Url(f.frame)))));
    } catch (error) {
      this.failures.push(error instanceof Error ? error.message : String(error));
      return;
    }
    if ((msg.kind === "result" || msg.kind === "error") && msg.id !== null && !this.#responses.has(msg.id))
      this.#responses.set(msg.id, msg);
  }

  /** The first answer to each request id so far. */
  get responses(): ReadonlyMap<string, TE2EResponse> {
    return this.#responses;
  }

  /** Opens the session; resolves with the companion's hello. The ack of the first frame is returned too. */
  async open(): Promise<{ ack: TSocketAck; hello?: TCompanionHello }> {
    const { instanceId, account, bundle, instanceBoxPublicKey } = this.options;
    const pending = initiateSession({
      protocolVersion: SESSION_PROTOCOL_VERSION,
      instanceId,
      accountId: account.userId,
      accountSecretKey: account.box.privateKey,
      instancePublicKey: instanceBoxPublicKey,
    });
    const reply = new Promise<TRelayFrame>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("handshake timed out")), 5000);
      this.#onHandshake = (f) => {
        clearTimeout(t);
        if (f.kind === "close") reject(new Error(`session refused: ${this.closedReason ?? ""}`));
        else resolve(f);
      };
    });
    const ack = await sendFrame(this.socket, {
      instanceId,
      sessionId: this.sessionId,
      kind: "handshake",
      frame: toBase64Url(encodeSessionOpen(JSON.stringify(bundle), pending.message)),
    });
    if (!ack.ok) {
      reply.catch(() => undefined);
      return { ack };
    }
    const f = await reply;
    const { session, payload } = pending.finish(fromBase64Url(f.frame));
    this.session = session;
    return { ack, hello: ZCompanionHelloSchema.parse(JSON.parse(fromUtf8(payload))) };
  }

  /** The relay frame of one sealed request. */
  #sealed(type: string, body: unknown, id: string, expiresAt: number): TRelayFrame {
    if (!this.session) throw new Error("not open");
    const frame = this.session.seal(utf8(JSON.stringify({ kind: "request", id, expiresAt, type, body })));
    return {
      instanceId: this.options.instanceId,
      sessionId: this.sessionId,
      kind: "transport",
      frame: toBase64Url(frame),
    };
  }

  /**
   * Sends one request with the caller's id and expiry without waiting for anything (its answer
   * shows in `responses`, a refusal in `refusals`): the same request can be sent again on a later
   * session, and the companion recognises it.
   */
  send(type: string, body: unknown, request: { id: string; expiresAt: number }): void {
    this.socket.emit("e2e:frame", this.#sealed(type, body, request.id, request.expiresAt), (ack: TSocketAck) => {
      if (!ack.ok) this.refusals.push(ack.error.code);
    });
  }

  /** Sends one request and waits for its result or error. */
  async request(type: string, body: unknown = {}): Promise<TE2EResponse> {
    const id = randomUUID();
    const ack = await sendFrame(this.socket, this.#sealed(type, body, id, Date.now() + 60_000));
    if (!ack.ok) throw new Error(`relay refused: ${ack.error.code}`);
    const start = Date.now();
    while (!this.#responses.has(id)) {
      if (this.failures.length > 0) throw new Error(`a frame from the companion failed: ${this.failures.join("; ")}`);
      if (Date.now() - start > 10_000) throw new Error(`no response to ${type}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = this.#responses.get(id);
    if (!r) throw new Error("unreachable");
    return r;
  }
}

const REPO = path.resolve(import.meta.dirname, "..", "..", "..", "..");
const TSX = path.join(REPO, "apps", "companion", "node_modules", ".bin", "tsx");
const COMPANION_MAIN = path.join(REPO, "apps", "companion", "src", "main.ts");

/** A fresh 0700 state folder for one companion. */
export function companionStateDir(): string {
  return mkdtempSync(path.join(tmpdir(), "veil-companion-state-"));
}

/** Runs the real `veil-companion` CLI (from source, through tsx) with the given state folder. */
export function spawnCompanion(
  command: string,
  stateDir: string,
  env: Record<string, string> = {},
): ChildProcess & { output: () => string; exit: Promise<number | null> } {
  const child = spawn(TSX, [COMPANION_MAIN, command], {
    env: { ...process.env, NODE_ENV: "production", VEIL_STATE_DIR: stateDir, VEIL_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return Object.assign(child, { output: () => out, exit });
}

/** Polls until `check` resolves true. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
