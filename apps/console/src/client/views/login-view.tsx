"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { Alert } from "../components/alert";
import { EmailField } from "../components/email-field";
import { Field } from "../components/field";
import { Progress } from "../components/progress";
import { PublicShell } from "../components/shell";
import { TwoFactorForm } from "../components/two-factor-form";
import { signIn, type TwoFactorStep } from "../flows/sign-in";
import { useSession } from "../hooks/use-session";
import { useTask } from "../hooks/use-task";

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
  // The two-factor step holds the WrapKey: wipe it when the page goes or the step is replaced
  // (finish and cancel wipe it too; the step also wipes it when its challenge expires).
  useEffect(() => () => step?.cancel(), [step]);
  const notice = session.status === "anonymous" ? session.notice : null;
  return (
    <PublicShell>
      <section className="card narrow">
        {step ? (
          <TwoFactorForm
            idPrefix="tfa"
            check={async (answer, phase) => {
              phase("Checking the code");
              await step.finish(answer);
              return true;
            }}
            onDone={() => router.replace("/account")}
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
            <EmailField value={email} onChange={setEmail} />
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
