"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import { Alert } from "../../client/components/alert";
import { Field } from "../../client/components/field";
import { NewPasswordField } from "../../client/components/new-password-field";
import { Progress } from "../../client/components/progress";
import { PublicShell } from "../../client/components/shell";
import { startRecovery, type RecoveredAccount, type RecoveryTwoFactorStep } from "../../client/flows/recover";
import { useSession } from "../../client/hooks/use-session";
import { useTask } from "../../client/hooks/use-task";
import { RecoveryKitPanel } from "../../client/views/recovery-kit-panel";

function Privacy() {
  return (
    <p className="hint" id="recover-privacy">
      Your recovery code never leaves this browser. It is stretched with Argon2id here and unlocks your keys here; the
      console sees only a derived proof and the keys locked again under your new password. It never sees the code, your
      new password or your keys.
    </p>
  );
}

function TwoFactorForm({
  step,
  onProven,
  onCancel,
}: {
  step: RecoveryTwoFactorStep;
  onProven: (a: RecoveredAccount) => void;
  onCancel: () => void;
}) {
  const [mode, setMode] = useState<"totp" | "backup">("totp");
  const [answer, setAnswer] = useState("");
  const task = useTask();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), [mode]);
  return (
    <form
      aria-labelledby="recover-tfa-title"
      onSubmit={(e) => {
        e.preventDefault();
        void task
          .run((phase) =>
            step.finish(mode === "totp" ? { code: answer.replace(/\s/g, "") } : { backupCode: answer.trim() }, phase),
          )
          .then((a) => {
            if (a) onProven(a);
          });
      }}
    >
      <h1 id="recover-tfa-title">Two-factor check</h1>
      <p>This account has two-factor authentication: recovering it needs a code too.</p>
      <fieldset className="segmented">
        <legend>Use</legend>
        <label>
          <input type="radio" name="mode" checked={mode === "totp"} onChange={() => setMode("totp")} /> Authenticator
          app
        </label>
        <label>
          <input type="radio" name="mode" checked={mode === "backup"} onChange={() => setMode("backup")} /> Backup code
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor="recover-tfa-answer">
          {mode === "totp" ? "6-digit code from your authenticator app" : "Backup code (like ABCD-EFGH-IJKL)"}
        </label>
        <input
          ref={input}
          id="recover-tfa-answer"
          name={mode === "totp" ? "totp" : "backup-code"}
          autoComplete="one-time-code"
          inputMode={mode === "totp" ? "numeric" : "text"}
          pattern={mode === "totp" ? "\\s*\\d{3}\\s*\\d{3}\\s*" : "[A-Za-z2-7\\- ]{12,16}"}
          required
          value={answer}
          onChange={(e) => setAnswer(e.target.value)}
        />
      </div>
      <Progress phase={task.phase} startedAt={task.startedAt} />
      <Alert>{task.error}</Alert>
      <div className="actions">
        <button className="primary" type="submit" disabled={task.running}>
          Verify
        </button>
        <button type="button" onClick={onCancel} disabled={task.running}>
          Start again
        </button>
      </div>
    </form>
  );
}

function NewPasswordForm({
  account,
  onDone,
  onCancel,
}: {
  account: RecoveredAccount;
  onDone: (code: string | null) => void;
  onCancel: () => void;
}) {
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [strongEnough, setStrongEnough] = useState(false);
  const [withKit, setWithKit] = useState(true);
  const task = useTask();
  const onVerdict = useCallback((ok: boolean) => setStrongEnough(ok), []);
  const { setError } = task;
  useEffect(() => setError(null), [password, confirm, setError]);
  const mismatch = confirm !== "" && confirm !== password;
  return (
    <form
      aria-labelledby="recover-new-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!strongEnough) return task.setError("Choose a stronger password (see the notes under the field).");
        if (password !== confirm) return task.setError("The two passwords differ.");
        void task
          .run((phase) => account.complete(password, withKit, phase))
          .then((r) => {
            if (!r) return;
            setPassword("");
            setConfirm("");
            onDone(r.recoveryCode);
          });
      }}
    >
      <h1 id="recover-new-title">Choose a new password</h1>
      <Alert kind="notice">
        Your recovery code opened your keys in this browser. Choose a new password to lock them again.
      </Alert>
      <p>
        Account: <strong>{account.email}</strong>
      </p>
      <NewPasswordField
        label="New password"
        value={password}
        onChange={setPassword}
        onVerdict={onVerdict}
        userInputs={[account.email]}
      />
      <Field
        label="Repeat the new password"
        type="password"
        name="confirm-password"
        autoComplete="new-password"
        required
        value={confirm}
        onChange={(e) => setConfirm(e.target.value)}
        aria-invalid={mismatch}
        hint={mismatch ? "The two passwords differ." : undefined}
      />
      <fieldset>
        <legend>Recovery kit</legend>
        <label>
          <input type="checkbox" checked={withKit} onChange={(e) => setWithKit(e.target.checked)} name="recovery-kit" />{" "}
          Make a new printable recovery kit
        </label>
        <p className="hint">
          The code you just used is spent: it stops working when you save the new password. Without a new kit, only your
          new password can unlock your keys.
        </p>
      </fieldset>
      <p className="hint">Saving signs you out everywhere else.</p>
      <Progress phase={task.phase} startedAt={task.startedAt} />
      <Alert>{task.error}</Alert>
      <div className="actions">
        <button className="primary" type="submit" disabled={task.running}>
          Save the new password and sign in
        </button>
        <button type="button" onClick={onCancel} disabled={task.running}>
          Start again
        </button>
      </div>
    </form>
  );
}

export function RecoverView() {
  const router = useRouter();
  const session = useSession();
  const [email, setEmail] = useState("");
  const [code, setCode] = useState("");
  const [step, setStep] = useState<RecoveryTwoFactorStep | null>(null);
  const [account, setAccount] = useState<RecoveredAccount | null>(null);
  const [kit, setKit] = useState<string | null>(null);
  const [finished, setFinished] = useState(false);
  const task = useTask();
  const busy = task.running || step !== null || account !== null;
  useEffect(() => {
    if (!finished && !busy && kit === null && (session.status === "ready" || session.status === "locked"))
      router.replace("/account");
  }, [session.status, router, finished, busy, kit]);
  // Leaving the page drops keys that were opened but not yet saved.
  const accountRef = useRef<RecoveredAccount | null>(null);
  const stepRef = useRef<RecoveryTwoFactorStep | null>(null);
  accountRef.current = account;
  stepRef.current = step;
  useEffect(
    () => () => {
      accountRef.current?.cancel();
      stepRef.current?.cancel();
    },
    [],
  );
  const restart = () => {
    account?.cancel();
    step?.cancel();
    setAccount(null);
    setStep(null);
  };

  if (kit !== null && session.status === "ready") {
    return (
      <PublicShell>
        <RecoveryKitPanel
          code={kit}
          email={session.me.user.email}
          onDone={() => {
            setKit(null);
            router.replace("/account");
          }}
        />
      </PublicShell>
    );
  }

  return (
    <PublicShell>
      <section className="card narrow">
        {account ? (
          <NewPasswordForm
            account={account}
            onCancel={restart}
            onDone={(newCode) => {
              setFinished(true);
              setAccount(null);
              if (newCode) setKit(newCode);
              else router.replace("/account");
            }}
          />
        ) : step ? (
          <TwoFactorForm
            step={step}
            onCancel={restart}
            onProven={(a) => {
              setStep(null);
              setAccount(a);
            }}
          />
        ) : (
          <form
            aria-labelledby="recover-title"
            aria-describedby="recover-privacy"
            onSubmit={(e) => {
              e.preventDefault();
              void task
                .run((phase) => startRecovery(email, code, phase))
                .then((r) => {
                  if (!r) return;
                  setCode("");
                  if (r.kind === "proven") setAccount(r.account);
                  else setStep(r.step);
                });
            }}
          >
            <h1 id="recover-title">Lost your password?</h1>
            <p>
              Use the recovery kit you saved when you made your account (or last changed your password). Veil cannot
              reset passwords: without the kit there is no other way in.
            </p>
            <Privacy />
            <Field
              label="E-mail"
              type="email"
              name="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
            <Field
              label="Recovery code"
              name="recovery-code"
              autoComplete="off"
              spellCheck={false}
              autoCapitalize="characters"
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
              hint="8 groups of 4 letters and digits, like ABCD-EFGH-…; dashes and spaces do not matter."
            />
            <Progress phase={task.phase} startedAt={task.startedAt} />
            <Alert>{task.error}</Alert>
            <div className="actions">
              <button className="primary" type="submit" disabled={task.running}>
                Continue
              </button>
            </div>
            <p>
              Remembered it? <Link href="/login">Sign in</Link>
            </p>
          </form>
        )}
      </section>
    </PublicShell>
  );
}
