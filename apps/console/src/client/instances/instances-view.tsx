"use client";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useState } from "react";
import type { TInstanceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import { copyText } from "../clipboard";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { Progress } from "../components/progress";
import { Shell } from "../components/shell";
import { useStepUp } from "../components/step-up";
import { useTask } from "../hooks/use-task";
import type { SessionState } from "../session-store";
import { addInstance, type AddedInstance } from "./add-instance";
import * as api from "./endpoints";
import { InstallPanel } from "./install-panel";
import { Ago, StatusBadge } from "./presence";
import { listedTrust, verifyListed, type ListedTrust } from "./served-instance";
import { encodeKeyCard, ownPublicKeys } from "./trust";

type Ready = Extract<SessionState, { status: "ready" }>;

/** How often the list refreshes presence (what the console may know: online, last seen, version). */
const REFRESH_MS = 5000;

function AddInstance({ session, onAdded }: { session: Ready; onAdded: () => void }) {
  const [name, setName] = useState("");
  const [added, setAdded] = useState<AddedInstance | null>(null);
  const task = useTask();
  return (
    <section className="card" aria-labelledby="add-title">
      <h2 id="add-title">Add an instance</h2>
      {added ? (
        <InstallPanel
          title={`Install the companion for “${added.certifiedName}”`}
          enrollment={added.enrollment}
          onDone={() => {
            setAdded(null);
            setName("");
          }}
        />
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void task
              .run((phase) => addInstance(name, session.me, session.keys, phase))
              .then((r) => {
                if (r) {
                  setAdded(r);
                  onAdded();
                }
              });
          }}
        >
          <p>
            Your browser makes the instance's keys and its secret token, wraps the keys under the token and signs the
            instance with your identity key. The console stores only public and wrapped keys.
          </p>
          <Field
            label="Instance name"
            name="instance-name"
            required
            maxLength={200}
            value={name}
            onChange={(e) => setName(e.target.value)}
            hint="For example the site's name."
          />
          <Progress phase={task.phase} startedAt={task.startedAt} />
          <Alert>{task.error}</Alert>
          <div className="actions">
            <button type="submit" className="primary" disabled={task.running || name.trim() === ""}>
              Add instance
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function RevokeButton({ instance, onDone }: { instance: TInstanceSummary; onDone: () => void }) {
  const withStepUp = useStepUp();
  const task = useTask();
  return (
    <>
      <button
        type="button"
        aria-label={`Revoke ${listedName(instance)}`}
        disabled={task.running}
        onClick={() => {
          if (
            !window.confirm(
              `Revoke “${listedName(instance)}”? Its companion is disconnected and can never connect again.`,
            )
          )
            return;
          void task.run(() => withStepUp(() => api.revokeInstance(instance.id))).then((r) => r && onDone());
        }}
      >
        Revoke
      </button>
      <Alert>{task.error}</Alert>
    </>
  );
}

/**
 * A listed instance's name: the one its certificate signed when the certificate verifies (the
 * console's copy is unsigned), else the served one marked as such. Its page checks the signer too.
 */
function listedName(instance: TInstanceSummary): string {
  return verifyListed(instance)?.body.name ?? instance.name;
}

const TRUST_BADGES: Record<Exclude<ListedTrust, "yours" | "confirmed">, { text: string; title: string }> = {
  unverified: {
    text: "certificate does not verify",
    title: "The name is the console's; its certificate does not verify.",
  },
  unconfirmed: {
    text: "unconfirmed signer",
    title: "You have not compared the safety code of the key that signed this name yet; open the instance to do so.",
  },
  changed: {
    text: "signer changed",
    title: "Another key signs this instance than the one you confirmed. Do not use it.",
  },
};

/**
 * A listed instance's name with what vouches for it: the certificate's name, marked when the
 * certificate does not verify, when its signer is not confirmed by this account (a console can
 * sign a certificate of its own for a member) or when the signer changed since it was.
 */
function ListedName({ instance, session }: { instance: TInstanceSummary; session: Ready }) {
  const verified = verifyListed(instance);
  const trust = listedTrust(instance, session.keys, {
    accountId: session.me.user.id,
    identityPublicKey: session.keys.identity.publicKey,
  });
  const badge = trust === "yours" || trust === "confirmed" ? null : TRUST_BADGES[trust];
  return (
    <>
      <Link href={`/instances/${instance.id}`}>{verified ? verified.body.name : instance.name}</Link>
      {badge ? (
        <>
          {" "}
          <span className="badge outcome-failure" title={badge.title} data-testid="listed-trust">
            {badge.text}
          </span>
        </>
      ) : null}
    </>
  );
}

function InstancesTable({ session, admin, refreshKey }: { session: Ready; admin: boolean; refreshKey: number }) {
  const [instances, setInstances] = useState<readonly TInstanceSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.listInstances().then(
      (r) => {
        setInstances(r.instances);
        setError(null);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : "Could not load the instances."),
    );
  }, []);
  useEffect(() => {
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => clearInterval(t);
  }, [load, refreshKey]);
  return (
    <section className="card" aria-labelledby="list-title">
      <h2 id="list-title">Instances</h2>
      <Alert>{error}</Alert>
      {instances === null ? (
        <p className="muted">Loading…</p>
      ) : instances.length === 0 ? (
        <p className="muted">
          {admin
            ? "No instances yet. Add one above."
            : "No instance has been shared with you yet. Give an administrator your key card (below)."}
        </p>
      ) : (
        <table data-testid="instances">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Last seen</th>
              <th scope="col">Companion</th>
              <th scope="col">Your role</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((i) => (
              <tr key={i.id} data-instance-id={i.id}>
                <td>
                  <ListedName instance={i} session={session} />
                </td>
                <td>
                  <StatusBadge instance={i} />
                </td>
                <td>{i.presence.online ? "now" : <Ago at={i.presence.lastSeenAt} />}</td>
                <td>{i.presence.companionVersion ?? <span className="muted">—</span>}</td>
                <td>{i.myRole ?? "—"}</td>
                <td>
                  <div className="actions">
                    <Link
                      href={`/instances/${i.id}`}
                      aria-label={`Open ${listedName(i)} (system info, grants, rotate token)`}
                    >
                      Open
                    </Link>
                    {i.myRole === "admin" && !i.revokedAt && i.presence.online ? (
                      <Link
                        href={`/instances/${i.id}#token-title`}
                        aria-label={`Rotate the token of ${listedName(i)} (end to end, on its page)`}
                      >
                        Rotate
                      </Link>
                    ) : null}
                    {admin && !i.revokedAt ? <RevokeButton instance={i} onDone={load} /> : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * The account's key card, which an administrator pastes to grant it a role on an instance: the
 * public keys of the key pairs this tab holds, with a box-key certificate that must certify them.
 */
function KeyCard({ session }: { session: Ready }) {
  const { me, keys } = session;
  const made = useMemo(() => {
    try {
      return { card: encodeKeyCard(ownPublicKeys(me.user.id, keys, me.keys.boxKeyCertificate)), error: null };
    } catch (error) {
      return { card: null, error: errorMessage(error) };
    }
  }, [me.user.id, me.keys.boxKeyCertificate, keys]);
  const [copied, setCopied] = useState(false);
  if (made.card === null)
    return (
      <section className="card" aria-labelledby="card-title">
        <h2 id="card-title">Your key card</h2>
        <Alert>{made.error}</Alert>
      </section>
    );
  const card = made.card;
  return (
    <section className="card" aria-labelledby="card-title">
      <h2 id="card-title">Your key card</h2>
      <p>
        To be given a role on an instance, send this card to an administrator. It holds only your public keys. The
        administrator's browser checks it and shows your safety code — read yours out from this page so they can
        compare:
      </p>
      <p>
        <code className="big" data-testid="my-safety-code">
          {session.safetyCode}
        </code>
      </p>
      <p>
        <code className="wrap" data-testid="key-card">
          {card}
        </code>
      </p>
      <div className="actions">
        {/* Through the page's one clipboard door, so the install panel's guard never erases it. */}
        <button
          type="button"
          onClick={() =>
            void copyText(card).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          Copy key card
        </button>
        {copied ? <span role="status">Copied.</span> : null}
      </div>
    </section>
  );
}

export function InstancesView() {
  const [refreshKey, setRefreshKey] = useState(0);
  return (
    <Shell>
      {(session) => {
        const admin = session.me.user.role === "admin";
        return (
          <>
            <h1>Instances</h1>
            {admin ? <AddInstance session={session} onAdded={() => setRefreshKey((k) => k + 1)} /> : null}
            <InstancesTable session={session} admin={admin} refreshKey={refreshKey} />
            <KeyCard session={session} />
          </>
        );
      }}
    </Shell>
  );
}
