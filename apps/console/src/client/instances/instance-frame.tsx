"use client";
import Link from "next/link";
import type { ReactNode } from "react";
import { Alert } from "../components/alert";
import { Shell } from "../components/shell";
import { StatusBadge } from "./presence";
import type { Ready } from "./ready-session";
import type { VerifiedInstance } from "./trust";
import { useInstanceSession, type InstanceSession } from "./use-instance-session";

/** The pages of one instance, in tab order. */
export const INSTANCE_TABS = [
  { tab: "overview", path: "", label: "Overview" },
  { tab: "devices", path: "/devices", label: "Devices" },
  { tab: "outages", path: "/outages", label: "Outages" },
  { tab: "discovery", path: "/discovery", label: "Discovery" },
  { tab: "vault", path: "/vault", label: "Vault" },
  { tab: "audit", path: "/audit", label: "Audit" },
] as const;
export type InstanceTab = (typeof INSTANCE_TABS)[number]["tab"];

/** What a page inside the frame gets. */
export interface InstancePageProps {
  readonly session: Ready;
  readonly site: InstanceSession;
}

/**
 * The instance's header (back link, name, status) and tabs. The name is the certificate's once
 * it verified (the console's own copy is unsigned); links use the page's id.
 */
function InstanceHeader({ site, id, tab }: { site: InstanceSession; id: string; tab: InstanceTab }) {
  const { instance, name } = site;
  if (!instance || !name) return null;
  return (
    <>
      <p>
        <Link href="/instances">← Instances</Link>
      </p>
      <h1>
        <span data-testid="instance-name">{name.name}</span>{" "}
        {name.certified ? null : <span className="badge outcome-failure">not verified</span>}{" "}
        <StatusBadge instance={instance} />
      </h1>
      <nav aria-label="Instance" className="tabs">
        <ul>
          {INSTANCE_TABS.map((t) => (
            <li key={t.tab}>
              <Link href={`/instances/${id}${t.path}`} aria-current={t.tab === tab ? "page" : undefined}>
                {t.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
    </>
  );
}

/**
 * First visit of a member who did not sign the instance: the console served both the
 * certificate and its signer, so the member compares the signer's safety code with the one
 * their administrator reads out before this browser trusts it. Nothing end to end happens first.
 */
function ConfirmSigner({ name, verified, confirm }: { name: string; verified: VerifiedInstance; confirm: () => void }) {
  return (
    <section className="card" aria-labelledby="confirm-signer-title" data-testid="confirm-signer">
      <h2 id="confirm-signer-title">Confirm who signs this instance</h2>
      <p>This browser has not opened {name} before. Its certificate is signed by the key with safety code</p>
      <p>
        <code className="big" data-testid="unconfirmed-signer-code">
          {verified.signerSafetyCode}
        </code>
      </p>
      <p>
        Ask the administrator who added the instance to read out the safety code on their own Instances page (under
        &ldquo;Your key card&rdquo;), and compare. If they differ, the console may be impersonating the site: do not go
        on. Nothing is sent to the site until you confirm.
      </p>
      <div className="actions">
        <button type="button" onClick={confirm}>
          The codes match: trust this signer
        </button>
      </div>
    </section>
  );
}

function Frame({
  session,
  id,
  tab,
  children,
}: {
  session: Ready;
  id: string;
  tab: InstanceTab;
  children: (props: InstancePageProps) => ReactNode;
}) {
  const site = useInstanceSession(session, id);
  if (site.loadError && !site.instance) return <Alert>{site.loadError}</Alert>;
  if (!site.instance) return <p className="muted">Loading…</p>;
  const v = site.verification;
  return (
    <>
      <InstanceHeader site={site} id={id} tab={tab} />
      {v && "unconfirmed" in v ? (
        <ConfirmSigner name={v.unconfirmed.body.name} verified={v.unconfirmed} confirm={v.confirm} />
      ) : null}
      {children({ session, site })}
    </>
  );
}

/** One page of an instance: signed-in shell, header and tabs, one E2E session for the page. */
export function InstanceFrame({
  id,
  tab,
  children,
}: {
  id: string;
  tab: InstanceTab;
  children: (props: InstancePageProps) => ReactNode;
}) {
  return (
    <Shell>
      {(session) => (
        <Frame session={session} id={id} tab={tab}>
          {children}
        </Frame>
      )}
    </Shell>
  );
}
