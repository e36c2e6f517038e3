import type { Metadata } from "next";
import { OutagesView } from "../../../../client/devices/views";

export const metadata: Metadata = { title: "Outages" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <OutagesView id={id} />;
}
