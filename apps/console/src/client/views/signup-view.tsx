"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { EmailField } from "../components/email-field";
import { NewPasswordPair } from "../components/new-password-pair";
import { Progress } from "../components/progress";
import { PublicShell } from "../components/shell";
import { signUp } from "../flows/sign-up";
import { useSession } from "../hooks/use-session";
import { useTask } from "../hooks/use-task";
import { RecoveryKitPage } from "./recovery-kit-page";

const INVITE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Invitation links carry the token in the fragment (#invite=…), which is never sent to a server. */
function inviteFromLocation(): string {
  const m = /(?:^|[#&])invite=([A-Za-z0-9_-]{43})(?:&|$)/.exec(window.location.hash);
  return m?.[1] ?? "";
}

export function SignupView() {
  const router = useRouter();
  const session = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [strongEnough, setStrongEnough] = useState(false);
  const [invite, setInvite] = useState("");
  const [showInvite, setShowInvite] = useState(false);
  const [withKit, setWithKit] = useState(true);
  const [kit, setKit] = useState<string | null>(null);
  const [finished, setFinished] = useState(false);
  const task = useTask();
  const onVerdict = useCallback((ok: boolean) => setStrongEnough(ok), []);
  const { setError } = task;
  // A stale "choose a stronger password" or "passwords differ" goes away as soon as the user edits.
  useEffect(() => setError(null), [password, confirm, setError]);

  useEffect(() => {
    const token = inviteFromLocation();
    if (token) {
      setInvite(token);
      setShowInvite(true);
      // Drop the token from the address bar and history.
      window.history.replaceState(null, "", window.location.pathname);
    }
  }, []);
  useEffect(() => {
    if (!finished && kit === null && !task.running && (session.status === "ready" || session.status === "locked"))
      router.replace("/account");
  }, [session.status, router, finished, kit, task.running]);

  if (kit !== null && session.status === "ready") {
    return <RecoveryKitPage code={kit} email={session.me.user.email} onClose={() => setKit(null)} />;
  }

  return (
    <PublicShell>
      <section className="card narrow">
        <form
          aria-labelledby="signup-title"
          onSubmit={(e) => {
            e.preventDefault();
            if (!strongEnough) return task.setError("Choose a stronger password (see the notes under the field).");
            if (password !== confirm) return task.setError("The two passwords differ.");
            const token = invite.trim();
            if (token !== "" && !INVITE_PATTERN.test(token))
              return task.setError("The invitation code is not valid: it is 43 letters, digits, - or _.");
            void task
              .run((phase) =>
                signUp({ email, password, inviteToken: token === "" ? null : token, withRecoveryKit: withKit }, phase),
              )
              .then((r) => {
                if (!r) return;
                setFinished(true);
                if (r.recoveryCode) setKit(r.recoveryCode);
                else router.replace("/account");
              });
          }}
        >
          <h1 id="signup-title">Create your account</h1>
          <p className="hint">
            Your password never leaves this browser. It is stretched with Argon2id here, and the keys made for you are
            locked with it before anything is sent to the console.
          </p>
          <EmailField value={email} onChange={setEmail} />
          <NewPasswordPair
            label="Password"
            repeatLabel="Repeat the password"
            password={password}
            onPassword={setPassword}
            confirm={confirm}
            onConfirm={setConfirm}
            onVerdict={onVerdict}
            userInputs={[email]}
          />
          {showInvite || task.errorCode === "invite_required" ? (
            <Field
              label="Invitation code"
              name="invite"
              autoComplete="off"
              spellCheck={false}
              value={invite}
              onChange={(e) => setInvite(e.target.value)}
              hint="Needed unless this is the console's first account. An admin gives it to you."
            />
          ) : (
            <p>
              <button type="button" className="link" onClick={() => setShowInvite(true)}>
                I have an invitation code
              </button>
            </p>
          )}
          <fieldset>
            <legend>Recovery kit</legend>
            <label>
              <input
                type="checkbox"
                checked={withKit}
                onChange={(e) => setWithKit(e.target.checked)}
                name="recovery-kit"
              />{" "}
              Make a printable recovery kit
            </label>
            <p className="hint">
              Veil cannot reset your password. Your keys are locked with your password and, if you make one, a recovery
              code. Without either of them, your keys are gone for good: nobody can recover them.
            </p>
          </fieldset>
          <Progress phase={task.phase} startedAt={task.startedAt} />
          <Alert>{task.error}</Alert>
          <div className="actions">
            <button className="primary" type="submit" disabled={task.running}>
              Create account
            </button>
          </div>
          <p>
            Already have an account? <Link href="/login">Sign in</Link>
          </p>
        </form>
      </section>
    </PublicShell>
  );
}
