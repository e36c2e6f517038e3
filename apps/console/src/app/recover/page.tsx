import type { Metadata } from "next";
import { RecoverView } from "./recover-view";

export const metadata: Metadata = { title: "Recover your account" };

export default function Page() {
  return <RecoverView />;
}
