"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { Progress } from "../components/progress";
import { PublicShell } from "../components/shell";
import { signIn, type TwoFactorStep } from "../flows/sign-in";
import { useSession } from "../hooks/use-session";
import { useTask } from "../hooks/use-task";

function TwoFactorForm({ step, onCancel }: { step: TwoFactorStep; onCancel: () => void }) {
  const router = useRouter();
  const [mode, setMode] = useState<"totp" | "backup">("totp");
  const [answer, setAnswer] = useState("");
  const task = useTask();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), [mode]);
  return (
    <form
      aria-labelledby="tfa-title"
      onSubmit={(e) => {
        e.preventDefault();
        void task
          .run(async (phase) => {
            phase("Checking the code");
            await step.finish(mode === "totp" ? { code: answer.replace(/\s/g, "") } : { backupCode: answer.trim() });
            return true;
          })
          .then((ok) => {
            if (ok) router.replace("/account");
          });
      }}
    >
      <h1 id="tfa-title">Two-factor check</h1>
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
        <label htmlFor="tfa-answer">
          {mode === "totp" ? "6-digit code from your authenticator app" : "Backup code (like ABCD-EFGH-IJKL)"}
        </label>
        <input
          ref={input}
          id="tfa-answer"
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

export function LoginView() {
  const router = useRouter();
  const session = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [step, setStep] = useState<TwoFactorStep | null>(null);
  const task = useTask();
  useEffect(() => {
    if (session.status === "ready" || session.status === "locked") router.replace("/account");
  }, [session.status, router]);
  const notice = session.status === "anonymous" ? session.notice : null;
  return (
    <PublicShell>
      <section className="card narrow">
        {step ? (
          <TwoFactorForm
            step={step}
            onCancel={() => {
              step.cancel();
              setStep(null);
            }}
          />
        ) : (
          <form
            aria-labelledby="login-title"
            onSubmit={(e) => {
              e.preventDefault();
              void task
                .run((phase) => signIn(email, password, phase))
                .then((r) => {
                  if (!r) return;
                  setPassword("");
                  if (r.kind === "done") router.replace("/account");
                  else setStep(r.step);
                });
            }}
          >
            <h1 id="login-title">Sign in</h1>
            <Alert kind="notice">{notice}</Alert>
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
              label="Password"
              type="password"
              name="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              hint="Your password is stretched with Argon2id in this browser; only a derived key is sent."
            />
            <Progress phase={task.phase} startedAt={task.startedAt} />
            <Alert>{task.error}</Alert>
            <div className="actions">
              <button className="primary" type="submit" disabled={task.running}>
                Sign in
              </button>
            </div>
            <p>
              No account yet? <Link href="/signup">Create one</Link> (the first account on a console becomes its admin;
              others need an invitation).
            </p>
            <p>
              Lost your password? <Link href="/recover">Use your recovery kit</Link> (it opens your keys in this
              browser; the console never sees the code).
            </p>
          </form>
        )}
      </section>
    </PublicShell>
  );
}
