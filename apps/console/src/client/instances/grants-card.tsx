"use client";
import { useCallback, useEffect, useState } from "react";
import { toBase64Url } from "@veil/crypto";
import type { TGrantSummary, TInstanceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import { Alert } from "../components/alert";
import { useStepUp } from "../components/step-up";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "./e2e-channel";
import * as accountApi from "../endpoints";
import * as api from "./endpoints";
import { GrantForm, type GrantAuthority } from "./grant-form";
import type { Ready } from "./ready-session";
import { revocableGrantee, revokeConfirmation, revokeGrant, shownEmail, type Grantee } from "./revoke-grant";
import { checkDelegation, grantBody, grantMatchesSigner, isSigner, type VerifiedInstance } from "./trust";

/**
 * The grants on an instance, each checked in this browser, and the grant form for the signer.
 * Everything is read and signed for the instance id the certificate names (`verified.body`).
 * An administrator with an open session (`adminChannel`) can revoke a grant before it expires:
 * the companion records the revocation first (end to end, revoke-grant.ts), then the console
 * drops the row. Each row names its grantee by the account the signed grant names (the e-mail is
 * the console's mapping, unsigned, shown only when well-formed), with the safety code of the
 * identity key it names only when the grant hangs off this instance's signer; a row that does
 * not verify, is signed by another key or disagrees with its signed body offers no Revoke.
 */
export function GrantsCard({
  session,
  instance,
  verified,
  adminChannel,
}: {
  session: Ready;
  instance: TInstanceSummary;
  verified: VerifiedInstance;
  adminChannel: InstanceChannel | null;
}) {
  const instanceId = verified.body.instanceId;
  const [grants, setGrants] = useState<readonly TGrantSummary[] | null>(null);
  const [emails, setEmails] = useState<ReadonlyMap<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const admin = session.me.user.role === "admin";
  const withStepUp = useStepUp();
  const revoking = useTask();
  const load = useCallback(() => {
    api.listGrants(instanceId).then(
      (r) => setGrants(r.grants),
      (e: unknown) => setError(errorMessage(e)),
    );
    if (admin)
      accountApi.listUsers().then(
        (r) => setEmails(new Map(r.users.map((u) => [u.id.toLowerCase(), u.email]))),
        () => undefined,
      );
  }, [instanceId, admin]);
  useEffect(() => load(), [load]);
  const me = session.me;
  const revoke = (g: TGrantSummary, who: string, grantee: Grantee) => {
    if (!adminChannel) return;
    if (!window.confirm(revokeConfirmation(grantee, who))) return;
    void revoking
      .run((phase) => revokeGrant(adminChannel, { grant: g, verified, withStepUp, phase }))
      .then((r) => {
        if (r) load();
      });
  };
  // The signer signs; an admin holding a delegation from the signer (checked here) signs with it.
  const authority: GrantAuthority | null = isSigner(verified, session.keys)
    ? { kind: "signer" }
    : (() => {
        const mine = grants?.find((g) => g.accountId.toLowerCase() === me.user.id.toLowerCase());
        const delegation = mine?.delegation
          ? checkDelegation(mine.delegation, verified, instanceId, toBase64Url(session.keys.identity.publicKey))
          : null;
        return delegation ? { kind: "delegated", delegation } : null;
      })();
  return (
    <section className="card" aria-labelledby="grants-title">
      <h2 id="grants-title">Grants</h2>
      <p>
        The companion accepts only accounts with a grant signed by the key that signed this instance (safety code{" "}
        <code>{verified.signerSafetyCode}</code>) and enforces their roles itself.
      </p>
      <Alert>{error}</Alert>
      <Alert>{revoking.error}</Alert>
      {revoking.phase ? <p role="status">{revoking.phase}…</p> : null}
      {admin && !adminChannel && !instance.revokedAt ? (
        <p className="hint">Revoking a grant needs an open secure session as an administrator of this instance.</p>
      ) : null}
      {grants === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <table data-testid="grants">
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Grantee's safety code</th>
              <th scope="col">Role</th>
              <th scope="col">Expires</th>
              <th scope="col">Signed by (safety code)</th>
              <th scope="col">May grant</th>
              {adminChannel ? <th scope="col">Revoke</th> : null}
            </tr>
          </thead>
          <tbody>
            {grants.map((g) => {
              const checked = grantBody(g.bundle);
              const consistent =
                checked &&
                checked.body.accountId.toLowerCase() === g.accountId.toLowerCase() &&
                checked.body.role === g.role &&
                checked.body.instanceId.toLowerCase() === instanceId.toLowerCase();
              // Named by the signed body: the listing's account id and the e-mail map are unsigned.
              // The grantee's safety code only for a grant from this instance's signer or a delegate.
              const grantee = consistent ? revocableGrantee(g, verified) : null;
              const accountId = checked?.body.accountId.toLowerCase() ?? g.accountId.toLowerCase();
              const who = shownEmail(emails.get(accountId)) ?? accountId;
              return (
                <tr key={g.id}>
                  <td>{who}</td>
                  <td>
                    {grantee ? (
                      <code data-testid="grant-grantee">{grantee.safetyCode}</code>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td>{checked?.body.role ?? g.role}</td>
                  <td>{new Date(checked?.body.expiresAt ?? g.expiresAt).toLocaleString()}</td>
                  <td>
                    {!consistent ? (
                      <span className="badge outcome-failure">signature does not verify</span>
                    ) : grantMatchesSigner(g.bundle, verified, instanceId) ? (
                      <code data-testid="grant-signer">{checked.signerSafetyCode}</code>
                    ) : (
                      // Validly signed, but not by this instance's signer or a delegate: the
                      // companion will refuse it.
                      <span className="badge outcome-failure">
                        signed by an unknown key (<code>{checked.signerSafetyCode}</code>)
                      </span>
                    )}
                  </td>
                  <td data-testid="grant-delegated">
                    {g.delegation &&
                    checked &&
                    checkDelegation(g.delegation, verified, instanceId, checked.body.identityPublicKey)
                      ? "yes (delegated)"
                      : "no"}
                  </td>
                  {adminChannel ? (
                    <td>
                      {grantee ? (
                        <button
                          type="button"
                          disabled={revoking.running}
                          data-testid="grant-revoke"
                          onClick={() => revoke(g, who, grantee)}
                        >
                          Revoke
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {authority && !instance.revokedAt ? (
        <>
          {authority.kind === "delegated" ? (
            <p className="hint" data-testid="grant-authority">
              You sign grants here under a delegation from the key that signed this instance.
            </p>
          ) : null}
          <GrantForm
            session={session}
            instanceId={instanceId}
            authority={authority}
            adminChannel={adminChannel}
            listed={grants ?? []}
            onGranted={load}
          />
        </>
      ) : null}
      {!authority && admin ? (
        <p className="hint">
          Only the administrator whose key signed this instance, or an administrator they delegated, can sign grants for
          it.
        </p>
      ) : null}
    </section>
  );
}
