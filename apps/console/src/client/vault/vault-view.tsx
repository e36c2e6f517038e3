"use client";
import { useState } from "react";
import { REQUEST_CATALOGUE, roleAllows, type TRole } from "@veil/protocol";
import { errorMessage } from "../api";
import { Alert } from "../components/alert";
import { ChannelGate } from "../discovery/channel-gate";
import type { InstanceChannel } from "../instances/e2e-channel";
import { InstanceFrame, type InstancePageProps } from "../instances/instance-frame";
import { VaultAddEntry } from "./vault-add-entry";
import { VaultCreate } from "./vault-create";
import { VaultEntries } from "./vault-entries";
import { VaultGenerate } from "./vault-generate";
import { VaultUnlock } from "./vault-unlock";
import { useVaultStatus, vaultState } from "./use-vault-status";

const STATE_TEXT = { none: "not created", locked: "locked", unlocked: "unlocked" } as const;

function Vault({
  open,
  role,
  instanceId,
  name,
}: {
  open: InstanceChannel;
  role: TRole;
  instanceId: string;
  name: string;
}) {
  const { status, error, refresh, version } = useVaultStatus(open);
  const [lockError, setLockError] = useState<string | null>(null);
  const admin = roleAllows(role, REQUEST_CATALOGUE["vault.init"]);
  if (!status)
    return (
      <section className="card">
        <p role="status">{error ?? "Asking the companion for the vault's state…"}</p>
      </section>
    );
  const state = vaultState(status);
  return (
    <>
      <section className="card" aria-labelledby="vault-title">
        <h2 id="vault-title">Credentials vault</h2>
        <dl className="facts">
          <dt>State</dt>
          <dd data-testid="vault-state" data-state={state}>
            {STATE_TEXT[state]}
          </dd>
          <dt>Entries</dt>
          <dd>{status.entries}</dd>
          {status.autoLockAt !== null ? (
            <>
              <dt>Locks itself at</dt>
              <dd>{new Date(status.autoLockAt).toLocaleTimeString()} (if unused)</dd>
            </>
          ) : null}
          {status.publicKeySha256 ? (
            <>
              <dt>Public key</dt>
              <dd>
                <code title={status.publicKeySha256}>{status.publicKeySha256.slice(0, 16)}…</code>
              </dd>
            </>
          ) : null}
        </dl>
        {state === "unlocked" ? (
          <div className="actions">
            <button
              type="button"
              onClick={() =>
                void open
                  .request("vault.lock", {})
                  .then(() => refresh())
                  .catch((e: unknown) => setLockError(errorMessage(e)))
              }
            >
              Lock the vault now
            </button>
          </div>
        ) : null}
        {state === "none" && admin ? (
          <VaultCreate open={open} instanceId={instanceId} instanceName={name} onDone={refresh} />
        ) : null}
        {state === "locked" && admin ? (
          <VaultUnlock open={open} instanceId={instanceId} publicKeySha256={status.publicKeySha256} onDone={refresh} />
        ) : null}
        {!admin && state !== "unlocked" ? (
          <p className="muted">Creating and unlocking the vault needs the admin role on this instance.</p>
        ) : null}
        <Alert>{lockError ?? error}</Alert>
      </section>
      {state !== "none" ? (
        <>
          <VaultEntries open={open} role={role} unlocked={state === "unlocked"} version={version} onChange={refresh} />
          <section className="card" aria-labelledby="add-title">
            <h2 id="add-title">Add a credential</h2>
            <VaultAddEntry open={open} onDone={refresh} />
          </section>
          <VaultGenerate open={open} role={role} onChange={refresh} />
        </>
      ) : null}
    </>
  );
}

/** /instances/[id]/vault, inside the instance frame. */
export function VaultView({ site }: InstancePageProps) {
  const verified = site.verified;
  if (!site.instance) return null;
  // A channel is open only for a verified certificate: the key file names the certified id and name.
  return (
    <ChannelGate site={site}>
      {(open, role) =>
        verified ? (
          <Vault open={open} role={role} instanceId={verified.body.instanceId} name={verified.body.name} />
        ) : null
      }
    </ChannelGate>
  );
}

/** The whole page: signed-in shell, instance header and tabs, one E2E session. */
export function VaultPage({ id }: { id: string }) {
  return (
    <InstanceFrame id={id} tab="vault">
      {(props) => <VaultView {...props} />}
    </InstanceFrame>
  );
}
