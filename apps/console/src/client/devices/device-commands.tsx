"use client";
/**
 * Commands on one device (reboot, locate, rename, inform interval), sent end to end. Each is
 * shown only when the companion-enforced role of this session allows it (`roleAllows` on the
 * catalogue entry — the companion checks again); each shows the typed result record (done,
 * queued, failed with a code) or the request's typed error.
 */
import { useState, type FormEvent } from "react";
import {
  REQUEST_CATALOGUE,
  roleAllows,
  ZDevicesRenameBodySchema,
  type TDeviceCommandRecord,
  type TDeviceSummary,
  type TRole,
} from "@veil/protocol";
import { Alert } from "../components/alert";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "../instances/e2e-channel";

const NAME_FIELD = ZDevicesRenameBodySchema.shape.name;

function Outcome({ record }: { record: TDeviceCommandRecord | null }) {
  if (!record) return null;
  const kind = record.status === "failed" ? "error" : record.status === "done" ? "success" : "notice";
  return (
    <Alert kind={kind}>
      <span data-testid="command-result" data-status={record.status}>
        {record.command}: {record.status}
        {record.error ? ` — ${record.error.message} (${record.error.code})` : ""}
      </span>
    </Alert>
  );
}

export function DeviceCommands({
  channel,
  role,
  device,
  onDone,
}: {
  channel: InstanceChannel;
  role: TRole;
  device: TDeviceSummary;
  onDone: () => void;
}) {
  const task = useTask();
  const [record, setRecord] = useState<TDeviceCommandRecord | null>(null);
  const [name, setName] = useState(device.name);
  const [interval, setIntervalText] = useState(String(device.intervalSec));
  const [formError, setFormError] = useState<string | null>(null);
  const allowed = (type: "devices.reboot" | "devices.locate" | "devices.rename" | "devices.setInterval") =>
    roleAllows(role, REQUEST_CATALOGUE[type]);
  if (!allowed("devices.reboot") && !allowed("devices.locate")) {
    return <p className="muted">Your role ({role}) can view this device but not send it commands.</p>;
  }
  const send = (action: () => Promise<TDeviceCommandRecord>) => {
    setFormError(null);
    setRecord(null);
    void task.run(action).then((r) => {
      if (!r) return;
      setRecord(r);
      onDone();
    });
  };
  const mac = device.mac;
  const rename = (e: FormEvent) => {
    e.preventDefault();
    const parsed = NAME_FIELD.safeParse(name.trim());
    if (!parsed.success)
      return setFormError("A name is 1–63 letters, digits or dashes, starting with a letter or digit.");
    send(() => channel.request("devices.rename", { mac, name: parsed.data }));
  };
  const setInformInterval = (e: FormEvent) => {
    e.preventDefault();
    const seconds = Number(interval);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600)
      return setFormError("The interval is a whole number of seconds from 1 to 3600.");
    send(() => channel.request("devices.setInterval", { mac, seconds }));
  };
  return (
    <>
      <Alert>{task.error}</Alert>
      <Alert>{formError}</Alert>
      <Outcome record={record} />
      <div className="actions">
        {allowed("devices.reboot") ? (
          <button
            type="button"
            className="danger"
            disabled={task.running || device.status === "pending"}
            onClick={() => {
              // A reboot cuts the device's clients off for a while: ask first.
              if (!window.confirm(`Reboot ${device.name || mac}? Its clients lose the connection until it is back.`))
                return;
              send(() => channel.request("devices.reboot", { mac }, 20_000));
            }}
          >
            Reboot
          </button>
        ) : null}
        {allowed("devices.locate") ? (
          <button
            type="button"
            disabled={task.running || device.status === "pending"}
            aria-pressed={device.locating}
            onClick={() => send(() => channel.request("devices.locate", { mac, enabled: !device.locating }, 20_000))}
          >
            {device.locating ? "Stop locating" : "Locate (blink)"}
          </button>
        ) : null}
      </div>
      {allowed("devices.rename") ? (
        <form className="inline-form" onSubmit={rename}>
          <label htmlFor="device-name">Name</label>
          <input id="device-name" value={name} maxLength={63} onChange={(e) => setName(e.target.value)} />
          <button type="submit" disabled={task.running}>
            Rename
          </button>
        </form>
      ) : null}
      {allowed("devices.setInterval") ? (
        <form className="inline-form" onSubmit={setInformInterval}>
          <label htmlFor="device-interval">Inform interval (seconds)</label>
          <input
            id="device-interval"
            type="number"
            min={1}
            max={3600}
            step={1}
            value={interval}
            onChange={(e) => setIntervalText(e.target.value)}
          />
          <button type="submit" disabled={task.running}>
            Set interval
          </button>
        </form>
      ) : null}
      {device.status === "pending" ? (
        <p className="hint">A pending device is trusted for nothing: adopt it before sending commands.</p>
      ) : null}
    </>
  );
}
