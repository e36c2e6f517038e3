import type { TInstanceSummary } from "@veil/protocol";

/** Online / offline / revoked / waiting for enrollment, as a badge. */
export function StatusBadge({ instance }: { instance: TInstanceSummary }) {
  let label: string;
  let cls = "badge";
  if (instance.revokedAt) {
    label = "revoked";
    cls += " outcome-failure";
  } else if (instance.presence.online) {
    label = "online";
    cls += " outcome-success";
  } else if (!instance.enrolledAt) label = "waiting for enrollment";
  else label = "offline";
  return (
    <span className={cls} data-testid="instance-status">
      {label}
    </span>
  );
}

/** "3 min ago" style relative time (with the exact time as title). */
export function Ago({ at }: { at: string | null }) {
  if (!at) return <span className="muted">never</span>;
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(at)) / 1000));
  const text =
    seconds < 60
      ? `${seconds} s ago`
      : seconds < 3600
        ? `${Math.round(seconds / 60)} min ago`
        : seconds < 86400
          ? `${Math.round(seconds / 3600)} h ago`
          : new Date(at).toLocaleDateString();
  return (
    <time dateTime={at} title={new Date(at).toLocaleString()}>
      {text}
    </time>
  );
}
