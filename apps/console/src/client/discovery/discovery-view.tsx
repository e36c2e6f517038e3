"use client";
import { useMemo, useState } from "react";
import { REQUEST_CATALOGUE, roleAllows, type TRole } from "@veil/protocol";
import type { InstanceChannel } from "../instances/e2e-channel";
import { InstanceFrame, type InstancePageProps } from "../instances/instance-frame";
import { AdoptPanel } from "./adopt-panel";
import { ChannelGate } from "./channel-gate";
import { DeviceTable } from "./device-table";
import { ScanPanel } from "./scan-panel";
import { useDiscovery } from "./use-discovery";

/** Selection of discovered devices by MAC, with select-all. */
export function useSelection() {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  return {
    selected,
    toggle: (mac: string) =>
      setSelected((s) => {
        const next = new Set(s);
        if (!next.delete(mac)) next.add(mac);
        return next;
      }),
    setAll: (macs: readonly string[]) => setSelected(new Set(macs)),
  };
}

function Discovery({ open, role }: { open: InstanceChannel; role: TRole }) {
  const discovery = useDiscovery(open);
  const selection = useSelection();
  const devices = discovery.state.devices;
  const picked = useMemo(() => devices.filter((d) => selection.selected.has(d.mac)), [devices, selection.selected]);
  return (
    <>
      <ScanPanel discovery={discovery} allowed={roleAllows(role, REQUEST_CATALOGUE["discovery.start"])} />
      {devices.length > 0 ? (
        <section className="card" aria-labelledby="found-title">
          <h2 id="found-title">Devices found ({devices.length})</h2>
          <DeviceTable
            devices={devices}
            selected={selection.selected}
            onToggle={selection.toggle}
            onToggleAll={(on) => selection.setAll(on ? devices.map((d) => d.mac) : [])}
            label="Discovered devices"
          />
        </section>
      ) : null}
      <AdoptPanel open={open} role={role} devices={picked} />
    </>
  );
}

/** /instances/[id]/discovery: find devices on the site and adopt them, end to end. */
export function DiscoveryView({ site }: InstancePageProps) {
  return <ChannelGate site={site}>{(open, role) => <Discovery open={open} role={role} />}</ChannelGate>;
}

/** The whole page: signed-in shell, instance header and tabs, one E2E session. */
export function DiscoveryPage({ id }: { id: string }) {
  return (
    <InstanceFrame id={id} tab="discovery">
      {(props) => <DiscoveryView {...props} />}
    </InstanceFrame>
  );
}
