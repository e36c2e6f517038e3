import type { Metadata } from "next";
import { InstanceView } from "../../../client/instances/instance-view";

export const metadata: Metadata = { title: "Instance" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <InstanceView id={id} />;
}
