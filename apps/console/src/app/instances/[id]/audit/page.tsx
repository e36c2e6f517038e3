import type { Metadata } from "next";
import { CompanionAuditPage } from "../../../../client/companion-audit/audit-view";

export const metadata: Metadata = { title: "Audit" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <CompanionAuditPage id={id} />;
}
