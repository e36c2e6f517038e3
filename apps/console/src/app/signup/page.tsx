import type { Metadata } from "next";
import { SignupView } from "../../client/views/signup-view";

export const metadata: Metadata = { title: "Create your account" };

export default function Page() {
  return <SignupView />;
}
