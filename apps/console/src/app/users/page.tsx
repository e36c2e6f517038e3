import type { Metadata } from "next";
import { UsersView } from "../../client/views/users-view";

export const metadata: Metadata = { title: "Users and roles" };

export default function Page() {
  return <UsersView />;
}
