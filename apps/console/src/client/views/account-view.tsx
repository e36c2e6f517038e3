"use client";
import { SafetyCode } from "../components/safety-code";
import { Shell } from "../components/shell";
import { IdleTimeoutSection } from "./account/idle-timeout-section";
import { PasswordSection } from "./account/password-section";
import { RecoverySection } from "./account/recovery-section";
import { SessionsSection } from "./account/sessions-section";
import { TwoFactorSection } from "./account/two-factor-section";

export function AccountView() {
  return (
    <Shell>
      {({ me, safetyCode }) => (
        <>
          <h1>Account</h1>
          <section className="card" aria-labelledby="profile-title">
            <h2 id="profile-title">Profile</h2>
            <dl className="facts">
              <dt>E-mail</dt>
              <dd>{me.user.email}</dd>
              <dt>Role</dt>
              <dd>{me.user.role}</dd>
              <dt>Member since</dt>
              <dd>{new Date(me.user.createdAt).toLocaleDateString()}</dd>
            </dl>
            <SafetyCode code={safetyCode} />
          </section>
          <PasswordSection email={me.user.email} />
          <TwoFactorSection enabled={me.user.totpEnabled} />
          <SessionsSection />
          <IdleTimeoutSection current={me.user.idleTimeoutSeconds} />
          <RecoverySection me={me} />
        </>
      )}
    </Shell>
  );
}
