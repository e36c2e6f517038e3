"use client";
import { useState } from "react";
import { ZScanTargetSchema } from "@veil/protocol";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { REFUSAL_TEXT, type useDiscovery } from "./use-discovery";

type Discovery = ReturnType<typeof useDiscovery>;

/** Splits the typed targets; null (with a message) if one cannot be a target at all. */
function parseTargets(text: string): { targets: string[] | undefined; error: string | null } {
  const parts = text.split(/[\s,]+/).filter((t) => t !== "");
  if (parts.length === 0) return { targets: undefined, error: null };
  if (parts.length > 16) return { targets: undefined, error: "At most 16 targets." };
  const bad = parts.find((t) => !ZScanTargetSchema.safeParse(t).success);
  if (bad !== undefined)
    return { targets: undefined, error: `"${bad.slice(0, 40)}" is not an address, range or name.` };
  return { targets: parts, error: null };
}

/**
 * Starts and cancels a scan. What may be scanned is decided by the companion's local
 * configuration: the page shows how many hosts it agreed to probe, or which targets it refused.
 */
export function ScanPanel({ discovery, allowed }: { discovery: Discovery; allowed: boolean }) {
  const { state, start, cancel } = discovery;
  const [targets, setTargets] = useState("");
  const [seconds, setSeconds] = useState("5");
  const [broadcast, setBroadcast] = useState(true);
  const [https, setHttps] = useState<"responders" | "all" | "off">("responders");
  const [formError, setFormError] = useState<string | null>(null);
  const busy = state.status === "starting" || state.status === "running";
  return (
    <section className="card" aria-labelledby="scan-title">
      <h2 id="scan-title">Find devices</h2>
      <p className="hint">
        The companion probes with UBDP and HTTPS, only within the ranges its own configuration allows; the console never
        chooses what is scanned and sees none of the results.
      </p>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const parsed = parseTargets(targets);
          setFormError(parsed.error);
          const s = Number(seconds);
          if (parsed.error || !Number.isInteger(s) || s < 1 || s > 30) {
            if (!parsed.error) setFormError("The duration is 1–30 seconds.");
            return;
          }
          void start({
            ...(parsed.targets ? { targets: parsed.targets } : {}),
            durationMs: s * 1000,
            broadcast,
            https,
          });
        }}
      >
        <Field
          label="Limit to (optional)"
          hint="Addresses, CIDR ranges or host names, separated by commas. Empty: every range the site allows."
          value={targets}
          onChange={(e) => setTargets(e.target.value)}
          maxLength={4096}
        />
        <Field
          label="Duration (seconds)"
          type="number"
          min={1}
          max={30}
          value={seconds}
          onChange={(e) => setSeconds(e.target.value)}
        />
        <div className="field">
          <label htmlFor="scan-https">HTTPS probe</label>
          <select id="scan-https" value={https} onChange={(e) => setHttps(e.target.value as typeof https)}>
            <option value="responders">Hosts that answered UBDP</option>
            <option value="all">Every host in scope</option>
            <option value="off">Off</option>
          </select>
        </div>
        <div className="field">
          <label>
            <input type="checkbox" checked={broadcast} onChange={(e) => setBroadcast(e.target.checked)} /> Also
            broadcast and multicast
          </label>
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={!allowed || busy}>
            Start discovery
          </button>
          <button type="button" disabled={state.status !== "running"} onClick={() => void cancel()}>
            Cancel discovery
          </button>
        </div>
      </form>
      <Alert>{formError}</Alert>
      {!allowed ? <p className="muted">Discovery needs the operator role on this instance.</p> : null}
      <ScanStatus state={state} />
    </section>
  );
}

function ScanStatus({ state }: { state: Discovery["state"] }) {
  if (state.status === "idle") return null;
  if (state.status === "refused")
    return (
      <div className="alert alert-error" role="alert" data-testid="scan-refused">
        The companion refused this scan; nothing was sent:
        <ul>
          {state.refused.map((r) => (
            <li key={`${r.target}-${r.reason}`}>
              <code>{r.target}</code>: {REFUSAL_TEXT[r.reason]}
            </li>
          ))}
        </ul>
      </div>
    );
  const s = state.stats;
  return (
    <div data-testid="scan-status" data-status={state.status}>
      <p role="status">
        {state.status === "starting"
          ? "Asking the companion…"
          : state.status === "running"
            ? `Scanning ${state.hosts ?? "?"} hosts the site allows… ${state.devices.length} found so far.`
            : state.status === "done"
              ? `Finished (${state.reason ?? "done"}): ${state.devices.length} device${state.devices.length === 1 ? "" : "s"} found in ${state.hosts ?? "?"} hosts.`
              : "The scan did not finish."}
      </p>
      {s ? (
        <p className="hint">
          {s.probesSent} probes sent, {s.repliesAccepted} replies accepted, {s.repliesDropped} dropped, {s.httpsProbes}{" "}
          HTTPS probes.
        </p>
      ) : null}
      <Alert>{state.error}</Alert>
    </div>
  );
}
