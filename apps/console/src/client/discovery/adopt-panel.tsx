"use client";
import { useEffect, useState } from "react";
import { REQUEST_CATALOGUE, roleAllows, type TRole, type TVaultEntryMeta } from "@veil/protocol";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import type { InstanceChannel } from "../instances/e2e-channel";
import { JobProgress } from "./job-progress";
import type { FoundDevice } from "./use-discovery";
import { useDeviceJob } from "./use-device-job";

/** Port of the devices' HTTPS management API (the companion probes the same one). */
const DEVICE_HTTPS_PORT = 443;

/** Who an entry is for, in words. */
export function entryTarget(e: TVaultEntryMeta): string {
  return "mac" in e.target ? e.target.mac : `group ${e.target.group}`;
}

/**
 * Adopts the selected devices (`discovery.adopt`). The credentials are typed here (or a vault
 * entry is picked) and travel end to end; the companion uses them once. Typed credentials are
 * cleared from the form as soon as the request is sent; "save to the vault" seals them to the
 * vault's public key on the companion, which works while the vault is locked. The devices are
 * pointed at the companion's Veil device channel (its site key) or, for UniFi firmware, at its
 * inform server with an authkey the companion sends in the same pinned request.
 */
export function AdoptPanel({
  open,
  role,
  devices,
}: {
  open: InstanceChannel;
  role: TRole;
  devices: readonly FoundDevice[];
}) {
  const job = useDeviceJob();
  const [source, setSource] = useState<"typed" | "vault">("typed");
  const [target, setTarget] = useState<"veil" | "unifi">("veil");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [entryId, setEntryId] = useState("");
  const [entries, setEntries] = useState<readonly TVaultEntryMeta[]>([]);
  const [save, setSave] = useState(false);
  const [trustNew, setTrustNew] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const allowed = roleAllows(role, REQUEST_CATALOGUE["discovery.adopt"]);
  const changed = devices.filter((d) => d.certChanged);

  useEffect(() => {
    if (source !== "vault") return;
    let live = true;
    open
      .request("vault.list", { offset: 0, limit: 200 })
      .then((r) => {
        if (live) setEntries(r.entries.filter((e) => e.state === "active" && e.kind === "password"));
      })
      .catch(() => live && setEntries([]));
    return () => {
      live = false;
    };
  }, [open, source]);

  const busy = job.state.status === "starting" || job.state.status === "running";
  const submit = () => {
    setError(null);
    if (devices.length === 0) return setError("Select at least one device.");
    if (source === "typed" && (username === "" || password === ""))
      return setError("Type the device's user name and password.");
    if (source === "vault" && entryId === "") return setError("Pick a vault entry.");
    const credentials = source === "typed" ? { login: { username, password } } : { vaultEntryId: entryId };
    // Each device with the certificate seen in the scan: a re-pin accepts only that one.
    const targets = devices.map((d) => ({
      mac: d.mac,
      ip: d.ip,
      port: DEVICE_HTTPS_PORT,
      ...(typeof d.certSha256 === "string" ? { certSha256: d.certSha256 } : {}),
    }));
    const body = {
      devices: targets,
      credentials,
      ...(target === "unifi" ? { install: { unifiInform: true as const } } : {}),
      saveToVault: source === "typed" && save,
      trustNewCertificate: source === "typed" && trustNew,
    };
    setPassword("");
    setTrustNew(false);
    void job.run((schema, handlers) => open.subscribe("discovery.adopt", body, "adoption.progress", schema, handlers));
  };

  return (
    <section className="card" aria-labelledby="adopt-title">
      <h2 id="adopt-title">Adopt selected devices ({devices.length})</h2>
      {changed.length > 0 ? (
        <div className="alert alert-error" role="alert" data-testid="cert-changed-warning">
          {changed.length === 1 ? "One selected device presents" : `${changed.length} selected devices present`} a
          certificate that differs from the one pinned when it was first seen ({changed.map((d) => d.mac).join(", ")}).
          This can mean a factory reset — or someone impersonating the device. Without “trust the new certificate” the
          companion sends them nothing.
        </div>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <fieldset className="segmented">
          <legend>Connect them to</legend>
          <label>
            <input type="radio" name="adopt-target" checked={target === "veil"} onChange={() => setTarget("veil")} />{" "}
            Veil&apos;s device channel (site key)
          </label>
          <label>
            <input type="radio" name="adopt-target" checked={target === "unifi"} onChange={() => setTarget("unifi")} />{" "}
            UniFi inform (authkey sent over this pinned connection)
          </label>
        </fieldset>
        <fieldset className="segmented">
          <legend>Credentials</legend>
          <label>
            <input type="radio" name="adopt-source" checked={source === "typed"} onChange={() => setSource("typed")} />{" "}
            Type them (used once)
          </label>
          <label>
            <input type="radio" name="adopt-source" checked={source === "vault"} onChange={() => setSource("vault")} />{" "}
            From the vault (needs it unlocked)
          </label>
        </fieldset>
        {source === "typed" ? (
          <>
            <Field
              label="Device user name"
              autoComplete="off"
              value={username}
              maxLength={64}
              onChange={(e) => setUsername(e.target.value)}
            />
            <Field
              label="Device password"
              type="password"
              autoComplete="off"
              value={password}
              maxLength={128}
              onChange={(e) => setPassword(e.target.value)}
              hint="Sent end to end to the companion, used once for these devices and then forgotten."
            />
            <div className="field">
              <label>
                <input type="checkbox" checked={save} onChange={(e) => setSave(e.target.checked)} /> Save these
                credentials to the vault (sealed on the site; works while the vault is locked)
              </label>
            </div>
            <div className="field">
              <label>
                <input type="checkbox" checked={trustNew} onChange={(e) => setTrustNew(e.target.checked)} /> Trust a
                changed device certificate and pin the new one
              </label>
            </div>
          </>
        ) : (
          <div className="field">
            <label htmlFor="adopt-entry">Vault entry</label>
            <select id="adopt-entry" value={entryId} onChange={(e) => setEntryId(e.target.value)}>
              <option value="">Choose…</option>
              {entries.map((e) => (
                <option key={e.id} value={e.id}>
                  {(e.label || entryTarget(e)).slice(0, 80)} — {entryTarget(e)}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="actions">
          <button type="submit" className="primary" disabled={!allowed || busy || devices.length === 0}>
            Adopt {devices.length} device{devices.length === 1 ? "" : "s"}
          </button>
        </div>
      </form>
      {!allowed ? <p className="muted">Adoption needs the operator role on this instance.</p> : null}
      <Alert>{error ?? job.state.error}</Alert>
      <JobProgress job={job.state} label="Adoption" testId="adoption-progress" />
    </section>
  );
}
