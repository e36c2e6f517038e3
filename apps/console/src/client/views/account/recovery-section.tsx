"use client";
import { useState } from "react";
import type { TMeResponse } from "@veil/protocol";
import { Alert } from "../../components/alert";
import { Field } from "../../components/field";
import { Progress } from "../../components/progress";
import { changePassword } from "../../flows/account-actions";
import { useTask } from "../../hooks/use-task";
import { checkRecoveryCode } from "../../recovery-kit";
import { accountEmail } from "../../session-store";
import { RecoveryKitPanel } from "../recovery-kit-panel";

/**
 * Recovery kit: make a new one, remove it, or check a code against the stored kit (locally).
 * The console has no separate kit route: a new kit is saved with a password change to the
 * same password, which also signs out other sessions.
 */
export function RecoverySection({ me }: { me: TMeResponse }) {
  const [password, setPassword] = useState("");
  const [check, setCheck] = useState("");
  const [kit, setKit] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const task = useTask();
  const has = me.recovery !== null;
  if (kit) return <RecoveryKitPanel code={kit} email={me.user.email} onDone={() => setKit(null)} />;
  const replace = (choice: "new" | "remove") =>
    void task
      .run((phase) => changePassword(password, password, choice, phase))
      .then((r) => {
        if (!r) return;
        setPassword("");
        setNotice(
          choice === "remove" ? "Recovery kit removed." : "New recovery kit saved; the old code no longer works.",
        );
        if (r.recoveryCode) setKit(r.recoveryCode);
      });
  return (
    <section className="card" aria-labelledby="rk-title">
      <h2 id="rk-title">Recovery kit</h2>
      <p>
        Status: <strong data-testid="recovery-status">{has ? "you have a recovery kit" : "no recovery kit"}</strong>
      </p>
      <p className="hint">
        Veil cannot reset passwords. Your keys open only with your password or your recovery code; without either, they
        are unrecoverable — by anyone.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          replace("new");
        }}
      >
        <Field
          label="Current password"
          name="recovery-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          hint="Needed to re-lock your keys. Saving signs out your other sessions."
        />
        <div className="actions">
          <button type="submit" className="primary" disabled={task.running}>
            {has ? "Make a new recovery kit" : "Make a recovery kit"}
          </button>
          {has ? (
            <button
              type="button"
              className="danger"
              disabled={task.running || password === ""}
              onClick={() => replace("remove")}
            >
              Remove the kit
            </button>
          ) : null}
        </div>
      </form>
      {has && me.recovery ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const stored = me.recovery;
            if (!stored) return;
            setNotice(null);
            void task
              .run(async (phase) => {
                phase("Checking the code with Argon2id");
                return { ok: await checkRecoveryCode(stored, check, me.keys, me.user.id, accountEmail()) };
              })
              .then(
                (r) =>
                  r &&
                  (r.ok
                    ? setNotice("That recovery code opens your keys.")
                    : task.setError("That code does not open your keys.")),
              );
          }}
        >
          <Field
            label="Check a recovery code"
            name="recovery-check"
            autoComplete="off"
            spellCheck={false}
            value={check}
            onChange={(e) => setCheck(e.target.value)}
            hint="Checked in this browser only."
          />
          <div className="actions">
            <button type="submit" disabled={task.running || check === ""}>
              Check
            </button>
          </div>
        </form>
      ) : null}
      <Progress phase={task.phase} startedAt={task.startedAt} />
      <Alert>{task.error}</Alert>
      <Alert kind="success">{notice}</Alert>
    </section>
  );
}
