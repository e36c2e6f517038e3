import type { Metadata } from "next";
import { DevicesView } from "../../../../client/devices/views";

export const metadata: Metadata = { title: "Devices" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <DevicesView id={id} />;
}
