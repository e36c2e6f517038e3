"use client";
import { useEffect, useMemo, useState } from "react";
import { REQUEST_CATALOGUE, roleAllows, type TRole } from "@veil/protocol";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { DeviceTable } from "../discovery/device-table";
import { useSelection } from "../discovery/discovery-view";
import { JobProgress } from "../discovery/job-progress";
import { useDeviceJob } from "../discovery/use-device-job";
import { useDiscovery } from "../discovery/use-discovery";
import type { InstanceChannel } from "../instances/e2e-channel";
import { generateTargets } from "./generate-targets";

/**
 * Bulk credential generation (`vault.generate`, admin): the companion makes a unique strong
 * password per selected device, seals it into the vault, then applies it. With the devices'
 * current login typed here it works while the vault is locked; without one each device's
 * active vault entry is used (vault unlocked). The devices are picked from a fresh scan, and each
 * is sent with the certificate that scan showed for it.
 */
export function VaultGenerate({ open, role, onChange }: { open: InstanceChannel; role: TRole; onChange: () => void }) {
  const discovery = useDiscovery(open);
  const selection = useSelection();
  const job = useDeviceJob();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [newUsername, setNewUsername] = useState("");
  const [length, setLength] = useState("24");
  const [error, setError] = useState<string | null>(null);
  const allowed = roleAllows(role, REQUEST_CATALOGUE["vault.generate"]);
  const devices = discovery.state.devices;
  const picked = useMemo(() => devices.filter((d) => selection.selected.has(d.mac)), [devices, selection.selected]);
  const scanning = discovery.state.status === "starting" || discovery.state.status === "running";
  const busy = job.state.status === "starting" || job.state.status === "running";

  useEffect(() => {
    if (job.state.status === "done") onChange();
  }, [job.state.status, onChange]);

  const submit = () => {
    setError(null);
    const n = Number(length);
    if (picked.length === 0) return setError("Select at least one device.");
    if (!Number.isInteger(n) || n < 16 || n > 64) return setError("The length is 16–64 characters.");
    if ((username === "") !== (password === ""))
      return setError("Type both the current user name and password, or neither (then the vault entries are used).");
    const body = {
      devices: generateTargets(picked),
      ...(username ? { login: { username, password } } : {}),
      ...(newUsername ? { username: newUsername } : {}),
      length: n,
    };
    setPassword("");
    void job.run((schema, handlers) =>
      open.subscribe("vault.generate", body, "vault.generate.progress", schema, handlers),
    );
  };

  return (
    <section className="card" aria-labelledby="generate-title">
      <h2 id="generate-title">Generate new credentials</h2>
      <p className="hint">
        Each selected device gets its own strong password, made on the site, sealed into the vault before it is applied.
        Devices with several accounts are skipped. Works while the vault is locked when you type the current login.
      </p>
      <div className="actions">
        <button
          type="button"
          disabled={scanning || !allowed}
          onClick={() => void discovery.start({ https: "responders", broadcast: false, durationMs: 5000 })}
        >
          Find devices to update
        </button>
      </div>
      {scanning ? <p role="status">Scanning…</p> : null}
      <Alert>{discovery.state.error}</Alert>
      <DeviceTable
        devices={devices}
        selected={selection.selected}
        onToggle={selection.toggle}
        onToggleAll={(on) => selection.setAll(on ? devices.map((d) => d.mac) : [])}
        label="Devices for new credentials"
      />
      <form
        aria-label="Generate credentials"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Field
          label="Current user name (optional)"
          autoComplete="off"
          value={username}
          maxLength={64}
          onChange={(e) => setUsername(e.target.value)}
        />
        <Field
          label="Current password (optional)"
          type="password"
          autoComplete="off"
          value={password}
          maxLength={128}
          onChange={(e) => setPassword(e.target.value)}
          hint="Empty: log in with each device's vault entry (needs the vault unlocked)."
        />
        <Field
          label="New user name (optional)"
          autoComplete="off"
          value={newUsername}
          maxLength={64}
          onChange={(e) => setNewUsername(e.target.value)}
        />
        <Field
          label="Password length"
          type="number"
          min={16}
          max={64}
          value={length}
          onChange={(e) => setLength(e.target.value)}
        />
        <div className="actions">
          <button type="submit" className="primary" disabled={!allowed || busy || picked.length === 0}>
            Generate for {picked.length} device{picked.length === 1 ? "" : "s"}
          </button>
        </div>
      </form>
      {!allowed ? <p className="muted">Credential generation needs the admin role on this instance.</p> : null}
      <Alert>{error ?? job.state.error}</Alert>
      <JobProgress job={job.state} label="Generation" testId="generate-progress" />
    </section>
  );
}
