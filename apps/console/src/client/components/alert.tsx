import type { ReactNode } from "react";

/** An error (role=alert, read out at once) or a notice (role=status). */
export function Alert({ kind = "error", children }: { kind?: "error" | "notice" | "success"; children: ReactNode }) {
  if (children === null || children === undefined || children === "") return null;
  return (
    <div className={`alert alert-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}
