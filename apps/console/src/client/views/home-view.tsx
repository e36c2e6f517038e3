"use client";
import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { PublicShell } from "../components/shell";
import { useSession } from "../hooks/use-session";

/** "/" sends signed-in tabs to their account and everyone else to sign-in. */
export function HomeView() {
  const router = useRouter();
  const session = useSession();
  useEffect(() => {
    if (session.status === "loading") return;
    router.replace(session.status === "anonymous" ? "/login" : "/account");
  }, [session.status, router]);
  return (
    <PublicShell>
      <p className="muted">Loading…</p>
    </PublicShell>
  );
}
