import type { Metadata } from "next";
import { InstancesView } from "../../client/instances/instances-view";

export const metadata: Metadata = { title: "Instances" };

export default function Page() {
  return <InstancesView />;
}
