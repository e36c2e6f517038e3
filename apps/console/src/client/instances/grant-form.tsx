"use client";
import { useState } from "react";
import { ZRoleSchema, type TGrantSummary, type TRole } from "@veil/protocol";
import { errorMessage } from "../api";
import { Alert } from "../components/alert";
import { useStepUp } from "../components/step-up";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "./e2e-channel";
import { grantAccount, revokesEarlierGrants } from "./grant-account";
import type { Ready } from "./ready-session";
import { decodeKeyCard, type AccountPublicKeys } from "./trust";
import type { SignedStatement } from "@veil/crypto";

/**
 * Why this browser may sign grants for the instance: it holds the instance's signer key, or a
 * delegation from that signer (checked against the instance certificate before it is used).
 */
export type GrantAuthority =
  { readonly kind: "signer" } | { readonly kind: "delegated"; readonly delegation: SignedStatement };

const ROLES: readonly TRole[] = ZRoleSchema.options;

/**
 * Signs a grant for the account of a pasted key card and stores it; the account's earlier grants
 * are revoked on the companion first (grant-account.ts).
 */
export function GrantForm({
  session,
  instanceId,
  authority,
  adminChannel,
  listed,
  onGranted,
}: {
  session: Ready;
  /** The certified instance id (VerifiedInstance.body), never the console's listing. */
  instanceId: string;
  authority: GrantAuthority;
  /** An open session as an administrator of the instance, which revokes earlier grants. */
  adminChannel: InstanceChannel | null;
  /** The grants the console lists (only to warn; it may leave some out). */
  listed: readonly TGrantSummary[];
  onGranted: () => void;
}) {
  const withStepUp = useStepUp();
  const [card, setCard] = useState("");
  const [role, setRole] = useState<TRole>("viewer");
  const [days, setDays] = useState(30);
  const [delegate, setDelegate] = useState(true);
  const canDelegate = authority.kind === "signer" && role === "admin";
  const task = useTask();
  let decoded: { keys: AccountPublicKeys; safetyCode: string } | null = null;
  let cardError: string | null = null;
  if (card.trim() !== "") {
    try {
      decoded = decodeKeyCard(card);
    } catch (error) {
      cardError = errorMessage(error);
    }
  }
  return (
    <form
      aria-labelledby="grant-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!decoded) return;
        const keys = decoded.keys;
        const delegating = canDelegate && delegate;
        const held = listed.some((g) => g.accountId.toLowerCase() === keys.accountId.toLowerCase());
        if (
          !adminChannel &&
          held &&
          revokesEarlierGrants(role, delegating) &&
          !window.confirm(
            "The companion cannot be reached, so this account's current grant cannot be revoked first: it stays valid until it expires. Sign the new grant anyway?",
          )
        )
          return;
        void task
          .run((phase) =>
            grantAccount({
              signer: session.keys.identity,
              instanceId,
              account: keys,
              ownAccountId: session.me.user.id,
              role,
              days,
              delegate: delegating,
              ...(authority.kind === "delegated" ? { underDelegation: authority.delegation } : {}),
              adminChannel,
              withStepUp,
              phase,
            }),
          )
          .then((r) => {
            if (r) {
              setCard("");
              onGranted();
            }
          });
      }}
    >
      <h3 id="grant-title">Grant a role</h3>
      <div className="field">
        <label htmlFor="grant-card">Their key card</label>
        <textarea
          id="grant-card"
          rows={3}
          cols={64}
          value={card}
          onChange={(e) => setCard(e.target.value)}
          aria-describedby="grant-card-hint"
        />
        <div className="hint" id="grant-card-hint">
          The person copies it from their Instances page.
        </div>
      </div>
      {decoded ? (
        <p role="status">
          Safety code of this card: <code data-testid="grant-card-safety">{decoded.safetyCode}</code>. Compare it with
          the code the person reads from their own page before you sign.
        </p>
      ) : null}
      <Alert>{cardError}</Alert>
      <div className="field">
        <label htmlFor="grant-role">Role</label>
        <select id="grant-role" value={role} onChange={(e) => setRole(ZRoleSchema.parse(e.target.value))}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      {canDelegate ? (
        <div className="field">
          <label>
            <input type="checkbox" checked={delegate} onChange={(e) => setDelegate(e.target.checked)} /> Let this admin
            grant roles on this instance too (a delegation signed by your key, valid as long as the grant)
          </label>
        </div>
      ) : null}
      <div className="field">
        <label htmlFor="grant-days">Valid for (days)</label>
        <input
          id="grant-days"
          type="number"
          min={1}
          max={365}
          value={days}
          onChange={(e) => setDays(Math.min(365, Math.max(1, Number(e.target.value) || 1)))}
        />
      </div>
      {revokesEarlierGrants(role, canDelegate && delegate) ? (
        <p className="hint" data-testid="grant-revokes-earlier">
          {adminChannel
            ? "The companion first revokes this account's earlier grants here (and, for an administrator, the grants it signed under its delegation); their sessions end."
            : "The companion cannot be reached: grants this account may already hold here are not revoked, and stay valid until they expire."}
        </p>
      ) : null}
      {task.phase ? <p role="status">{task.phase}…</p> : null}
      <Alert>{task.error}</Alert>
      <div className="actions">
        <button type="submit" disabled={!decoded || task.running}>
          Sign and grant
        </button>
      </div>
    </form>
  );
}
