import type { Metadata } from "next";
import { AccountView } from "../../client/views/account-view";

export const metadata: Metadata = { title: "Account" };

export default function Page() {
  return <AccountView />;
}
