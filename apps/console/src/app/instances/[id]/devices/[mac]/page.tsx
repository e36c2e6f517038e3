import type { Metadata } from "next";
import { DeviceView } from "../../../../../client/devices/views";

export const metadata: Metadata = { title: "Device" };

export default async function Page({ params }: { params: Promise<{ id: string; mac: string }> }) {
  const { id, mac } = await params;
  return <DeviceView id={id} mac={mac} />;
}
