"use client";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useState } from "react";
import { fingerprint, identityPublicKey, toBase64Url } from "@veil/crypto";
import {
  decodeEnrollment,
  ZRoleSchema,
  type TGrantBundle,
  type TGrantSummary,
  type TInstanceSummary,
  type TRole,
  type TSystemInfoResult,
} from "@veil/protocol";
import { errorMessage } from "../api";
import { Alert } from "../components/alert";
import { Shell } from "../components/shell";
import { useStepUp } from "../components/step-up";
import * as accountApi from "../endpoints";
import { useTask } from "../hooks/use-task";
import type { SessionState } from "../session-store";
import type { InstanceChannel } from "./e2e-channel";
import * as api from "./endpoints";
import { InstallPanel } from "./install-panel";
import { Ago, StatusBadge } from "./presence";
import {
  checkSignerPin,
  decodeBoxKeyCertificate,
  decodeKeyCard,
  grantBody,
  grantMatchesSigner,
  InstanceTrustError,
  isSigner,
  SELF_SESSION_GRANT_MS,
  signGrant,
  verifyInstance,
  type AccountPublicKeys,
  type VerifiedInstance,
} from "./trust";
import { NoGrantError, PING_EVERY_MS, useChannel, type ChannelState } from "./use-channel";

type Ready = Extract<SessionState, { status: "ready" }>;

const REFRESH_MS = 5000;
const ROLES: readonly TRole[] = ZRoleSchema.options;

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u] ?? "B"}`;
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${seconds % 60} s`;
}

/** The grant this browser presents: a fresh one it signs itself when it holds the signer key, else its stored grant (checked). */
function bundleSource(
  session: Ready,
  instance: TInstanceSummary,
  verified: VerifiedInstance,
): () => Promise<TGrantBundle> {
  const { me, keys } = session;
  return async () => {
    if (isSigner(verified, keys)) {
      return signGrant(
        keys.identity.privateKey,
        keys.identity.publicKey,
        instance.id,
        {
          accountId: me.user.id,
          identityPublicKey: me.keys.identityPublicKey,
          boxPublicKey: me.keys.boxPublicKey,
          boxKeyCertificate: decodeBoxKeyCertificate(me.keys.boxKeyCertificate),
        },
        "admin",
        Date.now() + SELF_SESSION_GRANT_MS,
      );
    }
    const { grants } = await api.listGrants(instance.id);
    const mine = grants.find((g) => g.accountId.toLowerCase() === me.user.id.toLowerCase());
    const checked = mine ? grantBody(mine.bundle) : null;
    if (!mine || !checked)
      throw new NoGrantError(
        "You hold no grant on this instance. Ask the administrator who added it for one (send them your key card).",
      );
    const b = checked.body;
    // A console that hands us someone else's grant (or one for another key) gets nothing from us.
    if (
      b.instanceId.toLowerCase() !== instance.id.toLowerCase() ||
      b.accountId.toLowerCase() !== me.user.id.toLowerCase() ||
      b.boxPublicKey !== me.keys.boxPublicKey
    )
      throw new NoGrantError(
        "The grant the console served is not for your keys; the console may have been tampered with.",
      );
    if (b.expiresAt <= Date.now())
      throw new NoGrantError("Your grant on this instance has expired. Ask an administrator to renew it.");
    if (!grantMatchesSigner(mine.bundle, verified, instance.id))
      throw new NoGrantError(
        "Your grant was not signed by the key that signed this instance; the console may have been tampered with. No session was opened.",
      );
    return mine.bundle;
  };
}

function SessionCard({ state, rtt, idle }: { state: ChannelState; rtt: number | null; idle: string }) {
  return (
    <section className="card" aria-labelledby="session-title">
      <h2 id="session-title">Secure session</h2>
      {state.status === "open" ? (
        <dl className="facts">
          <dt>State</dt>
          <dd data-testid="session-state">connected end to end (Noise_KK)</dd>
          <dt>Your role here</dt>
          <dd>{state.hello.role}</dd>
          <dt>Round trip</dt>
          <dd>
            <output data-testid="rtt" aria-live="off">
              {rtt === null ? "measuring…" : `${rtt.toFixed(0)} ms`}
            </output>
          </dd>
          <dt>Grant valid until</dt>
          <dd>{new Date(state.hello.grantExpiresAt).toLocaleString()}</dd>
        </dl>
      ) : state.status === "connecting" ? (
        <p role="status" data-testid="session-state">
          Opening a secure session…
        </p>
      ) : (
        <p data-testid="session-state" className="muted">
          {state.message ?? idle}
        </p>
      )}
      <p className="hint">
        The console relays this session's frames but cannot read, forge, replay or reorder them. Everything below is
        decrypted in this browser.
      </p>
    </section>
  );
}

function SystemInfoCard({ channel }: { channel: InstanceChannel | null }) {
  const [info, setInfo] = useState<TSystemInfoResult | null>(null);
  const task = useTask();
  const load = useCallback(() => {
    if (channel) void task.run(() => channel.request("system.info", {})).then((r) => r && setInfo(r));
  }, [channel, task.run]);
  useEffect(() => load(), [load]);
  return (
    <section className="card" aria-labelledby="sys-title">
      <h2 id="sys-title">System</h2>
      <Alert>{task.error}</Alert>
      {info ? (
        <dl className="facts" data-testid="system-info">
          <dt>Host name</dt>
          <dd data-testid="sys-hostname">{info.hostname}</dd>
          <dt>System</dt>
          <dd>
            {info.platform} {info.release} ({info.arch})
          </dd>
          <dt>Node.js</dt>
          <dd>{info.nodeVersion}</dd>
          <dt>Companion</dt>
          <dd data-testid="sys-companion-version">{info.companionVersion}</dd>
          <dt>Uptime</dt>
          <dd>{duration(info.uptimeSeconds)}</dd>
          <dt>Load</dt>
          <dd>{info.loadAverage.map((l) => l.toFixed(2)).join(" · ")}</dd>
          <dt>Memory</dt>
          <dd>
            {bytes(info.memory.totalBytes - info.memory.freeBytes)} used of {bytes(info.memory.totalBytes)} (companion{" "}
            {bytes(info.memory.rssBytes)})
          </dd>
        </dl>
      ) : (
        <p className="muted">{channel ? "Loading…" : "Shown when a secure session is open."}</p>
      )}
      <div className="actions">
        <button type="button" onClick={load} disabled={!channel || task.running}>
          Refresh system info
        </button>
      </div>
    </section>
  );
}

function RotateCard({
  channel,
  instance,
  verified,
}: {
  channel: InstanceChannel | null;
  instance: TInstanceSummary;
  verified: VerifiedInstance;
}) {
  const [enrollment, setEnrollment] = useState<string | null>(null);
  const task = useTask();
  const rotate = () =>
    void task
      .run(async (phase) => {
        if (!channel) throw new Error("Open a secure session first.");
        phase("The companion is making a new token and re-wrapping its keys");
        const { enrollment: line } = await channel.request("token.rotate", {}, 120_000);
        // Check what came back before showing it: this instance, our signer, this console.
        const e = decodeEnrollment(line);
        if (
          e.instanceId.toLowerCase() !== instance.id.toLowerCase() ||
          e.signerFingerprint !== toBase64Url(fingerprint(identityPublicKey(verified.signerPublicKey))) ||
          e.consoleUrl !== window.location.origin
        )
          throw new Error(
            "The new enrollment line does not name this instance, its signer and this console. It was not shown.",
          );
        return line;
      })
      .then((line) => line && setEnrollment(line));
  return (
    <section className="card" aria-labelledby="token-title">
      <h2 id="token-title">Instance token</h2>
      {enrollment ? (
        <InstallPanel
          title="Token rotated: new install line"
          enrollment={enrollment}
          onDone={() => setEnrollment(null)}
        />
      ) : (
        <>
          <p>
            Rotating makes the companion draw a new token, re-wrap its keys and replace the console's copy; the old
            install line stops working. The running companion keeps its connection. The new line comes back to this
            browser end to end.
          </p>
          {task.phase ? <p role="status">{task.phase}…</p> : null}
          <Alert>{task.error}</Alert>
          <div className="actions">
            <button type="button" onClick={rotate} disabled={!channel || task.running}>
              Rotate token
            </button>
          </div>
        </>
      )}
    </section>
  );
}

function GrantForm({
  session,
  instance,
  onGranted,
}: {
  session: Ready;
  instance: TInstanceSummary;
  onGranted: () => void;
}) {
  const withStepUp = useStepUp();
  const [card, setCard] = useState("");
  const [role, setRole] = useState<TRole>("viewer");
  const [days, setDays] = useState(30);
  const task = useTask();
  let decoded: { keys: AccountPublicKeys; safetyCode: string } | null = null;
  let cardError: string | null = null;
  if (card.trim() !== "") {
    try {
      decoded = decodeKeyCard(card);
    } catch (error) {
      cardError = errorMessage(error);
    }
  }
  return (
    <form
      aria-labelledby="grant-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!decoded) return;
        const keys = decoded.keys;
        void task
          .run(() => {
            const expiresAt = Date.now() + days * 24 * 3600_000;
            const bundle = signGrant(
              session.keys.identity.privateKey,
              session.keys.identity.publicKey,
              instance.id,
              keys,
              role,
              expiresAt,
            );
            return withStepUp(() =>
              api.createGrant(instance.id, { accountId: keys.accountId, role, expiresAt, bundle }),
            );
          })
          .then((r) => {
            if (r) {
              setCard("");
              onGranted();
            }
          });
      }}
    >
      <h3 id="grant-title">Grant a role</h3>
      <div className="field">
        <label htmlFor="grant-card">Their key card</label>
        <textarea
          id="grant-card"
          rows={3}
          cols={64}
          value={card}
          onChange={(e) => setCard(e.target.value)}
          aria-describedby="grant-card-hint"
        />
        <div className="hint" id="grant-card-hint">
          The person copies it from their Instances page.
        </div>
      </div>
      {decoded ? (
        <p role="status">
          Safety code of this card: <code data-testid="grant-card-safety">{decoded.safetyCode}</code>. Compare it with
          the code the person reads from their own page before you sign.
        </p>
      ) : null}
      <Alert>{cardError}</Alert>
      <div className="field">
        <label htmlFor="grant-role">Role</label>
        <select id="grant-role" value={role} onChange={(e) => setRole(ZRoleSchema.parse(e.target.value))}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="grant-days">Valid for (days)</label>
        <input
          id="grant-days"
          type="number"
          min={1}
          max={365}
          value={days}
          onChange={(e) => setDays(Math.min(365, Math.max(1, Number(e.target.value) || 1)))}
        />
      </div>
      <Alert>{task.error}</Alert>
      <div className="actions">
        <button type="submit" disabled={!decoded || task.running}>
          Sign and grant
        </button>
      </div>
    </form>
  );
}

function GrantsCard({
  session,
  instance,
  verified,
}: {
  session: Ready;
  instance: TInstanceSummary;
  verified: VerifiedInstance;
}) {
  const [grants, setGrants] = useState<readonly TGrantSummary[] | null>(null);
  const [emails, setEmails] = useState<ReadonlyMap<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const admin = session.me.user.role === "admin";
  const load = useCallback(() => {
    api.listGrants(instance.id).then(
      (r) => setGrants(r.grants),
      (e: unknown) => setError(errorMessage(e)),
    );
    if (admin)
      accountApi.listUsers().then(
        (r) => setEmails(new Map(r.users.map((u) => [u.id.toLowerCase(), u.email]))),
        () => undefined,
      );
  }, [instance.id, admin]);
  useEffect(() => load(), [load]);
  const signer = isSigner(verified, session.keys);
  return (
    <section className="card" aria-labelledby="grants-title">
      <h2 id="grants-title">Grants</h2>
      <p>
        The companion accepts only accounts with a grant signed by the key that signed this instance (safety code{" "}
        <code>{verified.signerSafetyCode}</code>) and enforces their roles itself.
      </p>
      <Alert>{error}</Alert>
      {grants === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <table data-testid="grants">
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Role</th>
              <th scope="col">Expires</th>
              <th scope="col">Signed by (safety code)</th>
            </tr>
          </thead>
          <tbody>
            {grants.map((g) => {
              const checked = grantBody(g.bundle);
              const consistent =
                checked &&
                checked.body.accountId.toLowerCase() === g.accountId.toLowerCase() &&
                checked.body.role === g.role &&
                checked.body.instanceId.toLowerCase() === instance.id.toLowerCase();
              return (
                <tr key={g.id}>
                  <td>{emails.get(g.accountId.toLowerCase()) ?? g.accountId}</td>
                  <td>{checked?.body.role ?? g.role}</td>
                  <td>{new Date(checked?.body.expiresAt ?? g.expiresAt).toLocaleString()}</td>
                  <td>
                    {consistent ? (
                      <code data-testid="grant-signer">{checked.signerSafetyCode}</code>
                    ) : (
                      <span className="badge outcome-failure">signature does not verify</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {signer && !instance.revokedAt ? <GrantForm session={session} instance={instance} onGranted={load} /> : null}
      {!signer && admin ? (
        <p className="hint">Only the administrator whose key signed this instance can sign grants for it.</p>
      ) : null}
    </section>
  );
}

function RevokeCard({ instance, onDone }: { instance: TInstanceSummary; onDone: () => void }) {
  const withStepUp = useStepUp();
  const task = useTask();
  return (
    <section className="card" aria-labelledby="revoke-title">
      <h2 id="revoke-title">Revoke</h2>
      <p>
        Revoking disconnects the companion within seconds and refuses it for good: its token, keys and grants stop
        working. This cannot be undone.
      </p>
      <Alert>{task.error}</Alert>
      <div className="actions">
        <button
          type="button"
          disabled={task.running}
          onClick={() => {
            if (!window.confirm(`Revoke “${instance.name}” for good?`)) return;
            void task.run(() => withStepUp(() => api.revokeInstance(instance.id))).then((r) => r && onDone());
          }}
        >
          Revoke instance
        </button>
      </div>
    </section>
  );
}

function InstancePage({ session, id }: { session: Ready; id: string }) {
  const [instance, setInstance] = useState<TInstanceSummary | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.getInstance(id).then(
      (r) => {
        setInstance(r.instance);
        setLoadError(null);
      },
      (e: unknown) => setLoadError(errorMessage(e)),
    );
  }, [id]);
  useEffect(() => {
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);

  // The certificate is verified once per served certificate; a failure blocks everything E2E.
  const certKey = instance
    ? JSON.stringify(instance.certificate) + instance.identityPublicKey + instance.boxPublicKey
    : "";
  const verification = useMemo((): { ok: VerifiedInstance } | { error: string } | null => {
    if (!instance) return null;
    try {
      const v = verifyInstance(instance);
      // The console says we added it: then our own key must have signed it.
      if (instance.adminUserId?.toLowerCase() === session.me.user.id.toLowerCase() && !isSigner(v, session.keys))
        throw new InstanceTrustError(
          "the console says you added this instance, but your key did not sign its certificate",
        );
      checkSignerPin(instance.id, v);
      return { ok: v };
    } catch (error) {
      return { error: errorMessage(error) };
    }
  }, [certKey]);
  const verified = verification && "ok" in verification ? verification.ok : null;

  const channelOptions = useMemo(
    () =>
      instance && verified
        ? {
            instanceId: instance.id,
            accountId: session.me.user.id,
            keys: session.keys,
            instanceBoxPublicKey: verified.boxPublicKey,
            bundle: bundleSource(session, instance, verified),
          }
        : null,
    [verified, session.keys],
  );
  const online = Boolean(instance?.presence.online && !instance.revokedAt);
  const channel = useChannel(channelOptions, online);
  const open = channel.status === "open" ? channel.channel : null;

  const [rtt, setRtt] = useState<number | null>(null);
  useEffect(() => {
    setRtt(null);
    if (!open) return;
    let stop = false;
    const ping = () => {
      const t0 = performance.now();
      open.request("ping", {}).then(
        () => !stop && setRtt(performance.now() - t0),
        () => undefined,
      );
    };
    ping();
    const t = setInterval(ping, PING_EVERY_MS);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [open]);

  if (loadError && !instance) return <Alert>{loadError}</Alert>;
  if (!instance) return <p className="muted">Loading…</p>;
  const admin = session.me.user.role === "admin";
  const canRotate = channel.status === "open" && channel.hello.role === "admin";
  return (
    <>
      <p>
        <Link href="/instances">← Instances</Link>
      </p>
      <h1>
        {instance.name} <StatusBadge instance={instance} />
      </h1>
      <section className="card" aria-labelledby="about-title">
        <h2 id="about-title">About</h2>
        <dl className="facts">
          <dt>Instance id</dt>
          <dd>
            <code>{instance.id}</code>
          </dd>
          <dt>Last seen</dt>
          <dd>{instance.presence.online ? "now" : <Ago at={instance.presence.lastSeenAt} />}</dd>
          <dt>Companion version</dt>
          <dd>{instance.presence.companionVersion ?? "—"}</dd>
          <dt>Address</dt>
          <dd>{instance.presence.address ?? "—"}</dd>
          <dt>Added</dt>
          <dd>{new Date(instance.createdAt).toLocaleString()}</dd>
          <dt>Token rotated</dt>
          <dd>{instance.rotatedAt ? new Date(instance.rotatedAt).toLocaleString() : "never"}</dd>
          {instance.revokedAt ? (
            <>
              <dt>Revoked</dt>
              <dd data-testid="revoked-at">{new Date(instance.revokedAt).toLocaleString()}</dd>
            </>
          ) : null}
          <dt>Certificate signed by</dt>
          <dd>
            {verified ? (
              <>
                <code data-testid="signer-safety-code">{verified.signerSafetyCode}</code>{" "}
                {isSigner(verified, session.keys) ? <span className="badge">your key</span> : null}
              </>
            ) : null}
          </dd>
        </dl>
        {verification && "error" in verification ? <Alert>{verification.error}</Alert> : null}
      </section>
      {verified ? (
        <>
          <SessionCard
            state={channel}
            rtt={rtt}
            idle={
              instance.revokedAt
                ? "Revoked: the companion is disconnected and no session can be opened."
                : instance.enrolledAt
                  ? "Not connected: the companion is offline."
                  : "Waiting for the companion to enroll and connect."
            }
          />
          <SystemInfoCard channel={open} />
          {canRotate ? <RotateCard channel={open} instance={instance} verified={verified} /> : null}
          <GrantsCard session={session} instance={instance} verified={verified} />
        </>
      ) : null}
      {admin && !instance.revokedAt ? <RevokeCard instance={instance} onDone={load} /> : null}
    </>
  );
}

export function InstanceView({ id }: { id: string }) {
  return <Shell>{(session) => <InstancePage session={session} id={id} />}</Shell>;
}
