"use client";
/**
 * /instances/[id]/devices/[mac] — one device over the end-to-end session: details, commands
 * (as the session's role allows), charts of the last hour, interfaces, clients, and recent
 * commands; the summary follows the device's informs live.
 */
import Link from "next/link";
import { useState } from "react";
import { roleAllows, type TDeviceSummary } from "@veil/protocol";
import { Alert } from "../components/alert";
import type { InstancePageProps } from "../instances/instance-frame";
import { duration } from "../instances/format-units";
import { DeviceCommands } from "./device-commands";
import { Ago, StatusPill, when } from "./device-format";
import { ClientsTable, CommandHistory, DeviceCharts, InterfacesTable } from "./device-sections";
import { useDeviceDetail } from "./use-device-detail";

function Facts({ d }: { d: TDeviceSummary }) {
  return (
    <dl className="facts" data-testid="device-facts">
      <dt>Status</dt>
      <dd>
        <StatusPill status={d.status} />
        {d.locating ? <span className="badge"> locating</span> : null}
      </dd>
      <dt>MAC</dt>
      <dd>
        <code data-testid="device-mac">{d.mac}</code>
      </dd>
      <dt>IP</dt>
      <dd>{d.ip || "—"}</dd>
      <dt>Model</dt>
      <dd>
        {d.modelDisplay || d.model} ({d.model}, {d.kind})
      </dd>
      <dt>Firmware</dt>
      <dd>{d.firmware}</dd>
      <dt>Host name</dt>
      <dd>{d.hostname}</dd>
      <dt>Reports over</dt>
      <dd>{d.dialect === "unifi" ? "UniFi inform" : "Veil device channel"}</dd>
      <dt>Inform interval</dt>
      <dd data-testid="device-interval">{d.intervalSec} s</dd>
      <dt>Uptime</dt>
      <dd data-testid="device-uptime">{duration(d.uptime)}</dd>
      <dt>CPU</dt>
      <dd>{Math.round(d.cpu)} %</dd>
      <dt>Memory</dt>
      <dd>{Math.round(d.memoryPct)} %</dd>
      <dt>Clients</dt>
      <dd>{d.clients}</dd>
      <dt>First seen</dt>
      <dd>{when(d.firstSeen)}</dd>
      <dt>Last seen</dt>
      <dd>
        <Ago at={d.lastSeen} />
      </dd>
    </dl>
  );
}

export function DevicePage({ site, mac }: InstancePageProps & { mac: string }) {
  const id = site.instance?.id ?? "";
  const channel = site.open;
  const [minutes, setMinutes] = useState(60);
  const state = useDeviceDetail(channel, mac, minutes);
  const role = site.channel.status === "open" ? site.channel.hello.role : null;
  const d = state.summary;
  return (
    <>
      <p>
        <Link href={`/instances/${id}/devices`}>← All devices</Link>
      </p>
      <section className="card" aria-labelledby="device-title">
        <h2 id="device-title" data-testid="device-name">
          {d ? d.name || d.mac : mac}
        </h2>
        {!channel ? (
          <p className="muted" role="status" data-testid="device-offline">
            {site.online
              ? "Opening a secure session…"
              : "The site is offline: device details are read from the companion."}
          </p>
        ) : null}
        <Alert>{state.error}</Alert>
        {state.notFound ? <Alert>No device with this MAC on this site.</Alert> : null}
        {d ? <Facts d={d} /> : channel && !state.notFound ? <p className="muted">Loading…</p> : null}
        {d && channel && role ? (
          <>
            <h3>Commands</h3>
            <DeviceCommands key={d.mac} channel={channel} role={role} device={d} onDone={state.reload} />
            {/* terminal.open's rule: operator and up (write). */}
            {roleAllows(role, { minRole: "operator", write: true }) ? (
              <p>
                <Link href={`/instances/${id}/terminal/${mac}`}>Open terminal</Link>
              </p>
            ) : null}
          </>
        ) : null}
      </section>
      {state.detail ? (
        <>
          <DeviceCharts detail={state.detail} minutes={minutes} onMinutes={setMinutes} />
          <InterfacesTable detail={state.detail} />
          <ClientsTable detail={state.detail} />
          <CommandHistory detail={state.detail} />
        </>
      ) : null}
    </>
  );
}
