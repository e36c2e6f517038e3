"use client";
import { JOB_ERROR_TEXT, type DeviceJobState } from "./use-device-job";

/** Per-device progress of an adoption or credential generation: a meter, counts and one row per device. */
export function JobProgress({ job, label, testId }: { job: DeviceJobState; label: string; testId: string }) {
  if (job.status === "idle") return null;
  const c = job.counts;
  const finished = c ? c.done + c.failed + c.skipped : 0;
  return (
    <div data-testid={testId} data-status={job.status}>
      <div className="meter">
        <meter min={0} max={c?.total ?? 1} value={finished} aria-label={`${label} progress`} />
        <span role="status">
          {job.status === "starting"
            ? "Starting…"
            : c
              ? `${finished} of ${c.total} finished — ${c.done} done, ${c.failed} failed, ${c.skipped} skipped${job.status === "done" ? "" : "…"}`
              : "Waiting for the first device…"}
        </span>
      </div>
      {job.rows.length > 0 ? (
        <table aria-label={`${label} results`}>
          <thead>
            <tr>
              <th scope="col">MAC</th>
              <th scope="col">IP</th>
              <th scope="col">Result</th>
              <th scope="col">Certificate</th>
            </tr>
          </thead>
          <tbody>
            {job.rows.map((r) => (
              <tr key={r.mac} data-mac={r.mac} data-result={r.error ?? r.status}>
                <td>
                  <code>{r.mac}</code>
                </td>
                <td>{r.ip}</td>
                <td>
                  <span className={`badge ${r.status === "done" ? "outcome-success" : "outcome-failure"}`}>
                    {r.status}
                  </span>{" "}
                  {r.error ? JOB_ERROR_TEXT[r.error] : r.vaultEntryId ? "saved to the vault" : ""}
                  {r.error === "certificate_changed" ? (
                    <strong className="cert-warning"> Warning: possible impersonation of this device.</strong>
                  ) : null}
                </td>
                <td>
                  {r.certSha256 ? <code title={r.certSha256}>{r.certSha256.slice(0, 16)}…</code> : "—"}
                  {r.pinned ? " (pinned now)" : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
