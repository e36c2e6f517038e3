"use client";
import { useRouter } from "next/navigation";
import { PublicShell } from "../components/shell";
import { RecoveryKitPanel } from "./recovery-kit-panel";

/**
 * The freshly made recovery kit, shown once as a whole page (after sign-up or recovery). When
 * the user is done, `onClose` runs and the tab goes to /account.
 */
export function RecoveryKitPage({ code, email, onClose }: { code: string; email: string; onClose: () => void }) {
  const router = useRouter();
  return (
    <PublicShell>
      <RecoveryKitPanel
        code={code}
        email={email}
        onDone={() => {
          onClose();
          router.replace("/account");
        }}
      />
    </PublicShell>
  );
}
