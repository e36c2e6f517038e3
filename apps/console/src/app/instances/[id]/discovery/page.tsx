import type { Metadata } from "next";
import { DiscoveryPage } from "../../../../client/discovery/discovery-view";

export const metadata: Metadata = { title: "Discovery" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <DiscoveryPage id={id} />;
}
