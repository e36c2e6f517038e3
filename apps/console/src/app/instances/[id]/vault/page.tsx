import type { Metadata } from "next";
import { VaultPage } from "../../../../client/vault/vault-view";

export const metadata: Metadata = { title: "Vault" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <VaultPage id={id} />;
}
