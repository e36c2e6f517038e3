"use client";
import { useMemo, useState } from "react";
import { REQUEST_CATALOGUE, roleAllows, type TAuditRecord, type TRole } from "@veil/protocol";
import { Alert } from "../components/alert";
import { ChannelGate } from "../discovery/channel-gate";
import type { InstanceChannel } from "../instances/e2e-channel";
import { InstanceFrame, type InstancePageProps } from "../instances/instance-frame";
import { useCompanionAudit, type CheckedAuditPage } from "./use-companion-audit";
import type { Continuity } from "./audit-continuity";

const ALL = "";

/** "Chain verified" or exactly where it breaks, for every page loaded so far. */
function ChainStatus({ pages }: { pages: readonly CheckedAuditPage[] }) {
  const records = pages.flatMap((p) => p.page.records);
  const breaks = pages.flatMap((p) => p.check.breaks);
  const seqs = records.map((r) => r.seq);
  const range = seqs.length === 0 ? "no records" : `records ${Math.min(...seqs)}–${Math.max(...seqs)}`;
  if (breaks.length === 0)
    return (
      <p data-testid="audit-chain" data-state="verified" className="chain-ok" role="status">
        Chain verified: {range} ({records.length}) recomputed and linked in this browser.
      </p>
    );
  return (
    <div data-testid="audit-chain" data-state="broken" className="alert alert-error" role="alert">
      <p>Chain broken — this log was altered or is incomplete:</p>
      <ul>
        {breaks.map((b) => (
          <li key={`${b.seq}-${b.reason}`} data-testid="audit-break" data-seq={b.seq} data-reason={b.reason}>
            {b.text}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Whether the log still passes through the head this browser verified on its last visit. */
function ContinuityStatus({ continuity, onAccept }: { continuity: Continuity; onAccept: () => void }) {
  const seen = "seen" in continuity ? continuity.seen : null;
  const when = seen === null ? "" : new Date(seen.at).toLocaleString();
  switch (continuity.state) {
    case "first":
      return (
        <p data-testid="audit-continuity" data-state="first" className="muted">
          First visit from this browser: its newest record is remembered here, and later visits check that the log still
          passes through it.
        </p>
      );
    case "continues":
      return (
        <p data-testid="audit-continuity" data-state="continues" className="chain-ok">
          Continues the log this browser verified on {when} (record {seen?.seq}).
        </p>
      );
    case "unreached":
      return (
        <p data-testid="audit-continuity" data-state="unreached" className="muted">
          Record {seen?.seq}, verified here on {when}, is {continuity.behind} records back: load older records to check
          that the log still passes through it.
        </p>
      );
    case "rotated":
      return (
        <div data-testid="audit-continuity" data-state="rotated" className="alert alert-notice">
          <p>
            Record {seen?.seq}, verified here on {when}, has rotated out of the companion&apos;s log: whether the log
            since then continues it cannot be checked, so later visits keep checking against it until you take the log
            as it is now as the reference.
          </p>
          <button type="button" onClick={onAccept}>
            Take the log as it is now as the reference
          </button>
        </div>
      );
    case "broken":
      return (
        <div data-testid="audit-continuity" data-state="broken" className="alert alert-error" role="alert">
          <p>Not the log this browser verified before: {continuity.text}.</p>
          <button type="button" onClick={onAccept}>
            Take the log as it is now as the reference
          </button>
        </div>
      );
  }
}

/** Breaks the companion itself found on start (anchor records), shown as they are. */
function CompanionNotices({ records }: { records: readonly TAuditRecord[] }) {
  const anchors = records.filter((r) => r.type === "audit.break");
  if (anchors.length === 0) return null;
  return (
    <div className="alert alert-notice" data-testid="audit-notices">
      {anchors.map((a) => (
        <p key={a.seq}>
          On {new Date(a.at).toLocaleString()} the companion found its log damaged and continued from record {a.seq}:{" "}
          {a.detail ?? a.code}
        </p>
      ))}
    </div>
  );
}

function who(r: TAuditRecord): string {
  if (r.accountId === null) return r.kind === "anchor" ? "companion" : "unknown";
  return `${r.accountId.slice(0, 8)}… (${r.role ?? "?"})`;
}

function AuditLog({ open }: { open: InstanceChannel }) {
  const { pages, loading, error, more, loadOlder, refresh, continuity, acceptCurrent } = useCompanionAudit(open);
  const [type, setType] = useState(ALL);
  const [account, setAccount] = useState(ALL);
  const records = useMemo(() => pages.flatMap((p) => [...p.page.records].reverse()), [pages]);
  const types = useMemo(() => [...new Set(records.map((r) => r.type))].sort(), [records]);
  const accounts = useMemo(
    () => [...new Set(records.flatMap((r) => (r.accountId === null ? [] : [r.accountId])))].sort(),
    [records],
  );
  const shown = records.filter(
    (r) => (type === ALL || r.type === type) && (account === ALL || r.accountId === account),
  );
  return (
    <section className="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Companion audit log</h2>
      <p className="hint">
        Kept by the companion on the site and read end to end; the console never sees it. Every page is re-verified
        here.
      </p>
      {pages.length > 0 ? <ChainStatus pages={pages} /> : null}
      {continuity !== null ? <ContinuityStatus continuity={continuity} onAccept={acceptCurrent} /> : null}
      <CompanionNotices records={records} />
      <div className="filters">
        <div className="field">
          <label htmlFor="audit-type">Request type</label>
          <select id="audit-type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value={ALL}>All types</option>
            {types.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-account">Account</label>
          <select id="audit-account" value={account} onChange={(e) => setAccount(e.target.value)}>
            <option value={ALL}>All accounts</option>
            {accounts.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </div>
        <div className="actions">
          <button type="button" onClick={refresh} disabled={loading}>
            Reload
          </button>
        </div>
      </div>
      <table aria-label="Audit records" data-testid="audit-records" className="audit-table">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Target</th>
            <th scope="col">Result</th>
            <th scope="col">Took</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={`${r.seq}-${r.hash}`} data-testid="audit-row" data-type={r.type} data-result={r.result}>
              <td>{r.seq}</td>
              <td>{new Date(r.at).toLocaleString()}</td>
              <td title={r.signer === null ? undefined : `grant signed by ${r.signer}`}>{who(r)}</td>
              <td>
                <code>{r.type}</code>
              </td>
              <td>{r.target ?? r.detail ?? ""}</td>
              <td className={r.result === "ok" ? "outcome-success" : "outcome-denied"}>
                {r.result === "ok" ? "ok" : (r.code ?? "error")}
              </td>
              <td>{r.durationMs === null ? "" : `${r.durationMs} ms`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && !loading ? <p className="muted">No records match.</p> : null}
      {loading ? <p role="status">Reading the audit log…</p> : null}
      <div className="actions">
        {more ? (
          <button type="button" onClick={loadOlder} disabled={loading}>
            Load older records
          </button>
        ) : pages.length > 0 ? (
          <p className="muted">This is the oldest record the companion keeps.</p>
        ) : null}
      </div>
      <Alert>{error}</Alert>
    </section>
  );
}

function Gate({ open, role }: { open: InstanceChannel; role: TRole }) {
  if (!roleAllows(role, REQUEST_CATALOGUE["audit.read"]))
    return (
      <section className="card" aria-labelledby="audit-title">
        <h2 id="audit-title">Companion audit log</h2>
        <p data-testid="audit-refused">
          Your role on this instance ({role}) cannot read the audit log: it needs the auditor role or higher. The
          companion enforces this whatever the console shows; ask an admin for an auditor grant.
        </p>
      </section>
    );
  return <AuditLog open={open} />;
}

/** /instances/[id]/audit inside the instance frame. */
export function CompanionAuditView({ site }: InstancePageProps) {
  return <ChannelGate site={site}>{(open, role) => <Gate open={open} role={role} />}</ChannelGate>;
}

/** The whole page: signed-in shell, instance header and tabs, one E2E session. */
export function CompanionAuditPage({ id }: { id: string }) {
  return (
    <InstanceFrame id={id} tab="audit">
      {(props) => <CompanionAuditView {...props} />}
    </InstanceFrame>
  );
}
