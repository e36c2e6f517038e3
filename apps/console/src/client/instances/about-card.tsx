import type { TInstanceSummary } from "@veil/protocol";
import { Alert } from "../components/alert";
import { Ago } from "./presence";
import type { Ready } from "./ready-session";
import { isSigner, type VerifiedInstance } from "./trust";
import type { InstanceVerification } from "./use-instance-verification";

/** Facts about the instance and who signed its certificate (or why it does not verify). */
export function AboutCard({
  session,
  instance,
  verification,
  verified,
}: {
  session: Ready;
  instance: TInstanceSummary;
  verification: InstanceVerification;
  verified: VerifiedInstance | null;
}) {
  return (
    <section className="card" aria-labelledby="about-title">
      <h2 id="about-title">About</h2>
      <dl className="facts">
        <dt>Instance id</dt>
        <dd>
          <code>{instance.id}</code>
        </dd>
        <dt>Last seen</dt>
        <dd>{instance.presence.online ? "now" : <Ago at={instance.presence.lastSeenAt} />}</dd>
        <dt>Companion version</dt>
        <dd>{instance.presence.companionVersion ?? "—"}</dd>
        <dt>Address</dt>
        <dd>{instance.presence.address ?? "—"}</dd>
        <dt>Added</dt>
        <dd>{new Date(instance.createdAt).toLocaleString()}</dd>
        <dt>Token rotated</dt>
        <dd>{instance.rotatedAt ? new Date(instance.rotatedAt).toLocaleString() : "never"}</dd>
        {instance.revokedAt ? (
          <>
            <dt>Revoked</dt>
            <dd data-testid="revoked-at">{new Date(instance.revokedAt).toLocaleString()}</dd>
          </>
        ) : null}
        <dt>Certificate signed by</dt>
        <dd>
          {verified ? (
            <>
              <code data-testid="signer-safety-code">{verified.signerSafetyCode}</code>{" "}
              {isSigner(verified, session.keys) ? <span className="badge">your key</span> : null}
            </>
          ) : null}
        </dd>
      </dl>
      {verification && "error" in verification ? <Alert>{verification.error}</Alert> : null}
    </section>
  );
}
