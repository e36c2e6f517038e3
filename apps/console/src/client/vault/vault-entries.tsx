"use client";
import { useEffect, useState } from "react";
import { REQUEST_CATALOGUE, roleAllows, type TRole, type TVaultEntryMeta } from "@veil/protocol";
import { errorMessage } from "../api";
import { Alert } from "../components/alert";
import { entryTarget } from "../discovery/adopt-panel";
import type { InstanceChannel } from "../instances/e2e-channel";
import { RevealBox, useReveal } from "./vault-reveal";

const PAGE = 200;

/**
 * The vault's entries: metadata only (`vault.list`), never a secret. Reveal asks for step-up
 * first and needs the vault unlocked; delete is for admins.
 */
export function VaultEntries({
  open,
  role,
  unlocked,
  version,
  onChange,
}: {
  open: InstanceChannel;
  role: TRole;
  unlocked: boolean;
  version: number;
  onChange: () => void;
}) {
  const [entries, setEntries] = useState<readonly TVaultEntryMeta[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const reveal = useReveal(open);
  const canDelete = roleAllows(role, REQUEST_CATALOGUE["vault.delete"]);
  const canReveal = roleAllows(role, REQUEST_CATALOGUE["vault.reveal"]);

  useEffect(() => {
    let live = true;
    open
      .request("vault.list", { offset: 0, limit: PAGE })
      .then((r) => {
        if (!live) return;
        setEntries(r.entries);
        setTotal(r.total);
      })
      .catch((e: unknown) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [open, version]);

  const remove = (id: string) => {
    if (!window.confirm("Delete this credential from the vault? It cannot be brought back.")) return;
    open
      .request("vault.delete", { entryId: id })
      .then(() => onChange())
      .catch((e: unknown) => setError(errorMessage(e)));
  };

  return (
    <section className="card" aria-labelledby="entries-title">
      <h2 id="entries-title">Entries ({total})</h2>
      {entries.length === 0 ? (
        <p className="muted">No credentials in the vault yet.</p>
      ) : (
        <table aria-label="Vault entries" data-testid="vault-entries">
          <thead>
            <tr>
              <th scope="col">For</th>
              <th scope="col">Kind</th>
              <th scope="col">Label</th>
              <th scope="col">State</th>
              <th scope="col">Origin</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-entry-id={e.id} data-target={entryTarget(e)} data-state={e.state}>
                <td>
                  <code>{entryTarget(e)}</code>
                </td>
                <td>{e.kind === "password" ? "password" : "SSH key"}</td>
                <td>{e.label || "—"}</td>
                <td>{e.state}</td>
                <td>{e.origin}</td>
                <td>{new Date(e.createdAt).toLocaleString()}</td>
                <td>
                  <button
                    type="button"
                    className="small"
                    disabled={!unlocked || !canReveal}
                    title={unlocked ? undefined : "Unlock the vault first"}
                    aria-label={`Reveal the credential for ${entryTarget(e)}`}
                    onClick={() => void reveal.reveal(e.id)}
                  >
                    Reveal
                  </button>{" "}
                  {canDelete ? (
                    <button
                      type="button"
                      className="small danger"
                      aria-label={`Delete the credential for ${entryTarget(e)}`}
                      onClick={() => remove(e.id)}
                    >
                      Delete
                    </button>
                  ) : null}
                  {reveal.shown?.entryId === e.id ? (
                    <RevealBox shown={reveal.shown} secondsLeft={reveal.secondsLeft} onHide={reveal.hide} />
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {total > entries.length ? (
        <p className="hint">
          Showing the first {entries.length} of {total}.
        </p>
      ) : null}
      <Alert>{reveal.error ?? error}</Alert>
    </section>
  );
}
