"use client";
import { useCallback, useEffect, useState } from "react";
import type { TAuditListResponse } from "@veil/protocol";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { Shell } from "../components/shell";
import * as api from "../endpoints";
import { useTask } from "../hooks/use-task";

type Entry = TAuditListResponse["entries"][number];
const PAGE = 50;

interface Filter {
  action: string;
  actor: string;
  outcome: "" | "success" | "failure" | "denied";
  from: string;
  to: string;
}
const EMPTY: Filter = { action: "", actor: "", outcome: "", from: "", to: "" };
/** Event types the console writes today; the field accepts any exact type. */
const KNOWN_ACTIONS = [
  "account.signup",
  "login.success",
  "login.failure",
  "login.password_ok",
  "login.2fa_failure",
  "login.locked",
  "logout",
  "session.revoke",
  "step_up",
  "password.change",
  "2fa.setup_started",
  "2fa.enable",
  "2fa.disable",
  "2fa.backup_code_used",
  "2fa.backup_codes_regenerated",
  "role.change",
  "invite.create",
  "settings.change",
  "settings.idle_timeout",
  "rate_limit.exceeded",
  "permission.denied",
  "console.start",
  "audit.prune",
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A <input type="date"> day as an ISO instant: start of the day, or its end for "to". */
function dayToIso(day: string, end: boolean): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const d = new Date(`${day}T${end ? "23:59:59.999" : "00:00:00.000"}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function AuditTable() {
  const [draft, setDraft] = useState<Filter>(EMPTY);
  const [filter, setFilter] = useState<Filter>(EMPTY);
  // Keyset pages: the `before` cursor of each page seen, so "Newer" can step back.
  const [cursors, setCursors] = useState<readonly (number | undefined)[]>([undefined]);
  const [page, setPage] = useState<TAuditListResponse | null>(null);
  const task = useTask();
  const before = cursors[cursors.length - 1];

  const load = useCallback(
    () =>
      task
        .run(() =>
          api.readAudit({
            limit: PAGE,
            ...(filter.action ? { action: filter.action } : {}),
            ...(filter.actor ? { actor: filter.actor } : {}),
            ...(filter.outcome ? { outcome: filter.outcome } : {}),
            ...(dayToIso(filter.from, false) ? { from: dayToIso(filter.from, false) } : {}),
            ...(dayToIso(filter.to, true) ? { to: dayToIso(filter.to, true) } : {}),
            ...(before !== undefined ? { before } : {}),
          }),
        )
        .then((r) => r && setPage(r)),
    [task.run, filter, before],
  );
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <>
      <form
        className="filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.actor && !UUID.test(draft.actor.trim()))
            return task.setError("The user must be a user id (a UUID).");
          setFilter({ ...draft, action: draft.action.trim(), actor: draft.actor.trim().toLowerCase() });
          setCursors([undefined]);
        }}
      >
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <Field
          label="Event type"
          name="action"
          list="audit-actions"
          placeholder="e.g. login.failure"
          value={draft.action}
          onChange={(e) => setDraft({ ...draft, action: e.target.value })}
          maxLength={100}
        />
        <Field
          label="User id"
          name="actor"
          value={draft.actor}
          onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
          spellCheck={false}
        />
        <div className="field">
          <label htmlFor="outcome">Outcome</label>
          <select
            id="outcome"
            value={draft.outcome}
            onChange={(e) => setDraft({ ...draft, outcome: e.target.value as Filter["outcome"] })}
          >
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
            <option value="denied">denied</option>
          </select>
        </div>
        <Field
          label="From"
          type="date"
          name="from"
          value={draft.from}
          onChange={(e) => setDraft({ ...draft, from: e.target.value })}
        />
        <Field
          label="To"
          type="date"
          name="to"
          value={draft.to}
          onChange={(e) => setDraft({ ...draft, to: e.target.value })}
        />
        <div className="actions">
          <button type="submit" className="primary">
            Apply
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setFilter(EMPTY);
              setCursors([undefined]);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <Alert>{task.error}</Alert>
      {page === null ? (
        <p className="muted">Loading…</p>
      ) : page.entries.length === 0 ? (
        <p>No events match.</p>
      ) : (
        <table data-testid="audit">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Outcome</th>
              <th scope="col">User</th>
              <th scope="col">IP</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {page.entries.map((e: Entry) => (
              <tr key={e.seq}>
                <td>{e.seq}</td>
                <td>{new Date(e.at).toLocaleString()}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>
                  <span className={`badge outcome-${e.outcome}`}>{e.outcome}</span>
                </td>
                <td>
                  {e.actorEmail ?? "—"}
                  {e.actorUserId ? (
                    <button
                      type="button"
                      className="link small"
                      onClick={() => setDraft({ ...draft, actor: e.actorUserId ?? "" })}
                      aria-label={`Filter by ${e.actorEmail ?? e.actorUserId}`}
                    >
                      filter
                    </button>
                  ) : null}
                </td>
                <td>{e.ip ?? "—"}</td>
                <td className="details">{Object.keys(e.details).length ? JSON.stringify(e.details) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="actions" aria-label="Pages">
        <button
          type="button"
          disabled={cursors.length <= 1 || task.running}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          disabled={!page?.nextBefore || task.running}
          onClick={() => page?.nextBefore && setCursors([...cursors, page.nextBefore])}
        >
          Older
        </button>
      </nav>
    </>
  );
}

export function AuditView() {
  return (
    <Shell roles={["admin", "auditor"]}>
      {() => (
        <>
          <h1>Audit log</h1>
          <p className="hint">Append-only and hash-chained. Newest first, {PAGE} per page.</p>
          <AuditTable />
        </>
      )}
    </Shell>
  );
}
