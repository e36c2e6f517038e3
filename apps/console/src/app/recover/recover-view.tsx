"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import { Alert } from "../../client/components/alert";
import { EmailField } from "../../client/components/email-field";
import { Field } from "../../client/components/field";
import { NewPasswordPair } from "../../client/components/new-password-pair";
import { Progress } from "../../client/components/progress";
import { PublicShell } from "../../client/components/shell";
import { TwoFactorForm } from "../../client/components/two-factor-form";
import { startRecovery, type RecoveredAccount, type RecoveryTwoFactorStep } from "../../client/flows/recover";
import { useSession } from "../../client/hooks/use-session";
import { useTask } from "../../client/hooks/use-task";
import { RecoveryKitPage } from "../../client/views/recovery-kit-page";

function Privacy() {
  return (
    <p className="hint" id="recover-privacy">
      Your recovery code never leaves this browser. It is stretched with Argon2id here and unlocks your keys here; the
      console sees only a derived proof and the keys locked again under your new password. It never sees the code, your
      new password or your keys.
    </p>
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
      <NewPasswordPair
        label="New password"
        repeatLabel="Repeat the new password"
        password={password}
        onPassword={setPassword}
        confirm={confirm}
        onConfirm={setConfirm}
        onVerdict={onVerdict}
        userInputs={[account.email]}
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
    return <RecoveryKitPage code={kit} email={session.me.user.email} onClose={() => setKit(null)} />;
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
            idPrefix="recover-tfa"
            intro={<p>This account has two-factor authentication: recovering it needs a code too.</p>}
            check={(answer, phase) => step.finish(answer, phase)}
            onCancel={restart}
            onDone={(a) => {
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
            <EmailField value={email} onChange={setEmail} />
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
