"use client";
import type { FoundDevice } from "./use-discovery";

/**
 * Discovered devices with a checkbox each (MAC, IP, model, firmware, hostname, adopted). A device
 * whose certificate differs from the pinned one is marked with a visible warning.
 */
export function DeviceTable({
  devices,
  selected,
  onToggle,
  onToggleAll,
  label,
}: {
  devices: readonly FoundDevice[];
  selected: ReadonlySet<string>;
  onToggle: (mac: string) => void;
  onToggleAll: (on: boolean) => void;
  label: string;
}) {
  if (devices.length === 0) return null;
  const all = devices.every((d) => selected.has(d.mac));
  return (
    <table aria-label={label} data-testid="discovered-devices">
      <thead>
        <tr>
          <th scope="col">
            <input
              type="checkbox"
              aria-label="Select every device"
              checked={all}
              onChange={(e) => onToggleAll(e.target.checked)}
            />
          </th>
          <th scope="col">MAC</th>
          <th scope="col">IP</th>
          <th scope="col">Model</th>
          <th scope="col">Firmware</th>
          <th scope="col">Host name</th>
          <th scope="col">Adopted</th>
        </tr>
      </thead>
      <tbody>
        {devices.map((d) => (
          <tr key={d.mac} data-mac={d.mac} data-adopted={String(d.adopted)}>
            <td>
              <input
                type="checkbox"
                aria-label={`Select ${d.hostname || d.mac}`}
                checked={selected.has(d.mac)}
                onChange={() => onToggle(d.mac)}
              />
            </td>
            <td>
              <code>{d.mac}</code>
            </td>
            <td>{d.ip}</td>
            <td title={d.model}>{d.modelDisplay || d.model || "—"}</td>
            <td>{d.firmware || "—"}</td>
            <td>{d.hostname || "—"}</td>
            <td>
              {d.adopted ? "yes" : "no"}
              {d.certChanged ? (
                <strong className="cert-warning" role="note">
                  {" "}
                  Certificate changed since it was pinned!
                </strong>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
