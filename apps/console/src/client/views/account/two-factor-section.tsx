"use client";
import { useState, type ReactNode } from "react";
import type { TTotpSetupResponse } from "@veil/protocol";
import { Alert } from "../../components/alert";
import { Field } from "../../components/field";
import { Progress } from "../../components/progress";
import { useStepUp } from "../../components/step-up";
import * as api from "../../endpoints";
import { useTask } from "../../hooks/use-task";
import { refreshMe } from "../../session-store";

function BackupCodes({ codes, onDone }: { codes: readonly string[]; onDone: () => void }) {
  return (
    <div data-testid="backup-codes" className="printable">
      <h3>Backup codes</h3>
      <p>
        Each code signs you in once if you lose your authenticator. They are shown <strong>only now</strong>: print them
        or keep them in a password manager.
      </p>
      <ol className="codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div className="actions no-print">
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
        <button type="button" className="primary" onClick={onDone}>
          I have saved them
        </button>
      </div>
    </div>
  );
}

/** TOTP set-up (QR code + manual secret, confirm with a code, ten backup codes once) and disable. */
export function TwoFactorSection({ enabled }: { enabled: boolean }) {
  const withStepUp = useStepUp();
  const task = useTask();
  const [setup, setSetup] = useState<TTotpSetupResponse | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<readonly string[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  let body: ReactNode;
  if (codes) {
    body = <BackupCodes codes={codes} onDone={() => setCodes(null)} />;
  } else if (setup) {
    body = (
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void task
            .run(async () => {
              const r = await api.confirmTotp(code.replace(/\s/g, ""));
              await refreshMe();
              return r;
            })
            .then((r) => {
              if (!r) return;
              setSetup(null);
              setCode("");
              setCodes(r.backupCodes);
            });
        }}
      >
        <ol className="steps">
          <li>
            Scan this QR code with your authenticator app:
            <div className="qr">
              {/* A data: URL made by the console; img-src allows data:. */}
              <img src={setup.qrDataUrl} alt="QR code for your authenticator app" width={200} height={200} />
            </div>
          </li>
          <li>
            Or enter this key by hand: <code data-testid="totp-secret">{setup.secret}</code>
          </li>
          <li>Then type the 6-digit code the app shows:</li>
        </ol>
        <Field
          label="Code from the app"
          name="totp-confirm"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="\s*\d{3}\s*\d{3}\s*"
          required
          value={code}
          onChange={(e) => setCode(e.target.value)}
        />
        <Progress phase={task.phase} startedAt={task.startedAt} />
        <Alert>{task.error}</Alert>
        <div className="actions">
          <button className="primary" type="submit" disabled={task.running}>
            Turn on two-factor
          </button>
          <button type="button" onClick={() => setSetup(null)} disabled={task.running}>
            Cancel
          </button>
        </div>
      </form>
    );
  } else {
    body = (
      <>
        <p>
          Status: <strong data-testid="totp-status">{enabled ? "on" : "off"}</strong>
        </p>
        <Alert>{task.error}</Alert>
        <Alert kind="success">{notice}</Alert>
        <div className="actions">
          {enabled ? (
            <>
              <button
                type="button"
                disabled={task.running}
                onClick={() =>
                  void task.run(() => withStepUp(api.regenerateBackupCodes)).then((r) => r && setCodes(r.backupCodes))
                }
              >
                New backup codes
              </button>
              <button
                type="button"
                className="danger"
                disabled={task.running}
                onClick={() =>
                  void task
                    .run(async () => {
                      await withStepUp(api.disableTotp);
                      await refreshMe();
                      return true;
                    })
                    .then((r) => r && setNotice("Two-factor sign-in is off."))
                }
              >
                Turn off two-factor
              </button>
            </>
          ) : (
            <button
              type="button"
              className="primary"
              disabled={task.running}
              onClick={() => {
                setNotice(null);
                void task.run(() => withStepUp(api.setupTotp)).then((r) => r && setSetup(r));
              }}
            >
              Set up two-factor
            </button>
          )}
        </div>
      </>
    );
  }
  return (
    <section className="card" aria-labelledby="tfa-title">
      <h2 id="tfa-title">Two-factor sign-in</h2>
      <p className="hint">
        A 6-digit code from an authenticator app (TOTP, RFC 6238), asked for at every sign-in after your password.
      </p>
      {body}
    </section>
  );
}
