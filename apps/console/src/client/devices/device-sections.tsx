/** The read-only sections of the device page: interfaces, clients, charts, recent commands. */
import type { TDeviceDetail } from "@veil/protocol";
import { bytes, duration } from "../instances/format-units";
import { bitRate, when } from "./device-format";
import { LineChart } from "./line-chart";
import { HISTORY_WINDOWS } from "./use-device-detail";

const pct = (v: number) => `${Math.round(v)} %`;

export function DeviceCharts({
  detail,
  minutes,
  onMinutes,
}: {
  detail: TDeviceDetail;
  minutes: number;
  onMinutes: (minutes: number) => void;
}) {
  const h = detail.history;
  const title = HISTORY_WINDOWS.find((w) => w.minutes === minutes)?.label ?? "History";
  return (
    <section className="card" aria-labelledby="charts-title">
      <h2 id="charts-title">{title}</h2>
      <div className="inline-form">
        <label htmlFor="history-window">History</label>
        <select
          id="history-window"
          value={minutes}
          onChange={(e) => onMinutes(HISTORY_WINDOWS.find((w) => String(w.minutes) === e.target.value)?.minutes ?? 60)}
        >
          {HISTORY_WINDOWS.map((w) => (
            <option key={w.minutes} value={w.minutes}>
              {w.label}
            </option>
          ))}
        </select>
      </div>
      <div className="charts">
        <LineChart
          title="Traffic"
          testId="chart-traffic"
          start={h.start}
          stepMs={h.stepMs}
          format={bitRate}
          series={[
            { label: "Received", values: h.rxBps, className: "rx" },
            { label: "Sent", values: h.txBps, className: "tx" },
          ]}
        />
        <LineChart
          title="CPU"
          testId="chart-cpu"
          start={h.start}
          stepMs={h.stepMs}
          format={pct}
          max={100}
          series={[{ label: "CPU", values: h.cpu, className: "cpu" }]}
        />
        <LineChart
          title="Memory"
          testId="chart-memory"
          start={h.start}
          stepMs={h.stepMs}
          format={pct}
          max={100}
          series={[{ label: "Memory", values: h.memoryPct, className: "mem" }]}
        />
      </div>
    </section>
  );
}

export function InterfacesTable({ detail }: { detail: TDeviceDetail }) {
  return (
    <section className="card" aria-labelledby="ifaces-title">
      <h2 id="ifaces-title">Interfaces</h2>
      {detail.interfaces.length === 0 ? (
        <p className="muted">No interface reported.</p>
      ) : (
        <table data-testid="interfaces-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">MAC</th>
              <th scope="col">Link</th>
              <th scope="col">Speed</th>
              <th scope="col">Received</th>
              <th scope="col">Sent</th>
            </tr>
          </thead>
          <tbody>
            {detail.interfaces.map((i) => (
              <tr key={i.name}>
                <td>{i.name}</td>
                <td>
                  <code>{i.mac}</code>
                </td>
                <td>{i.up ? "up" : "down"}</td>
                <td>{i.speedMbps > 0 ? `${i.speedMbps} Mbit/s` : "—"}</td>
                <td>{bytes(i.rxBytes)}</td>
                <td>{bytes(i.txBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ClientsTable({ detail }: { detail: TDeviceDetail }) {
  return (
    <section className="card" aria-labelledby="clients-title">
      <h2 id="clients-title">Clients ({detail.clientsTotal})</h2>
      {detail.clients.length === 0 ? (
        <p className="muted">No client connected.</p>
      ) : (
        <>
          {detail.clientsTotal > detail.clients.length ? (
            <p className="hint">The first {detail.clients.length} are shown.</p>
          ) : null}
          <table data-testid="clients-table">
            <thead>
              <tr>
                <th scope="col">Host name</th>
                <th scope="col">MAC</th>
                <th scope="col">IP</th>
                <th scope="col">Signal</th>
                <th scope="col">Received</th>
                <th scope="col">Sent</th>
                <th scope="col">Connected for</th>
              </tr>
            </thead>
            <tbody>
              {detail.clients.map((c) => (
                <tr key={c.mac}>
                  <td>{c.hostname ?? "—"}</td>
                  <td>
                    <code>{c.mac}</code>
                  </td>
                  <td>{c.ip ?? "—"}</td>
                  <td>{c.signalDbm === undefined ? "—" : `${c.signalDbm} dBm`}</td>
                  <td>{bytes(c.rxBytes)}</td>
                  <td>{bytes(c.txBytes)}</td>
                  <td>{duration(c.uptime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function CommandHistory({ detail }: { detail: TDeviceDetail }) {
  if (detail.commands.length === 0) return null;
  return (
    <section className="card" aria-labelledby="cmds-title">
      <h2 id="cmds-title">Recent commands</h2>
      <table data-testid="commands-table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Command</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {detail.commands.map((c) => (
            <tr key={c.commandId}>
              <td>{when(c.at)}</td>
              <td>{c.command}</td>
              <td>
                {c.status}
                {c.error ? ` — ${c.error.message} (${c.error.code})` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
