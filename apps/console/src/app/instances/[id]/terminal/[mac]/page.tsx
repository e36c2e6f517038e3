import type { Metadata } from "next";
import { TerminalView } from "../../../../../client/terminal/terminal-view";

export const metadata: Metadata = { title: "Terminal" };

export default async function Page({ params }: { params: Promise<{ id: string; mac: string }> }) {
  const { id, mac } = await params;
  return <TerminalView id={id} mac={mac} />;
}
