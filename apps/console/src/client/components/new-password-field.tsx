"use client";
import { useEffect, useId, useState } from "react";
import { checkPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, type PasswordVerdict } from "../password-policy";

const LABELS = ["Very weak", "Weak", "Fair", "Strong", "Very strong"];

/**
 * A new-password input with the policy's live verdict: length 12–128 and a zxcvbn-ts score of
 * at least 3. Reports the verdict upwards so the form can refuse to submit.
 */
export function NewPasswordField({
  label,
  value,
  onChange,
  onVerdict,
  userInputs,
  name = "new-password",
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  onVerdict: (ok: boolean) => void;
  userInputs: readonly string[];
  name?: string;
}) {
  const id = useId();
  const [verdict, setVerdict] = useState<PasswordVerdict | null>(null);
  const inputsKey = userInputs.join("\u0000");
  useEffect(() => {
    let live = true;
    if (value === "") {
      setVerdict(null);
      onVerdict(false);
      return;
    }
    const t = setTimeout(() => {
      void checkPassword(value, inputsKey.split("\u0000")).then((v) => {
        if (!live) return;
        setVerdict(v);
        onVerdict(v.ok);
      });
    }, 150);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [value, inputsKey, onVerdict]);
  const score = verdict?.score ?? null;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="password"
        autoComplete="new-password"
        required
        minLength={PASSWORD_MIN_LENGTH}
        maxLength={PASSWORD_MAX_LENGTH * 2}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={`${id}-rules ${id}-verdict`}
        aria-invalid={verdict !== null && !verdict.ok}
      />
      <div className="hint" id={`${id}-rules`}>
        {PASSWORD_MIN_LENGTH}–{PASSWORD_MAX_LENGTH} characters. No required symbols or digits: a long phrase you can
        remember is best. It is checked in this browser against lists of common passwords; it is never sent anywhere.
      </div>
      <div id={`${id}-verdict`} aria-live="polite" data-testid="password-verdict">
        {score !== null ? (
          <div className="meter">
            <meter min={0} max={4} low={2} high={3} optimum={4} value={score} aria-label="Password strength" />
            <span>{LABELS[score] ?? ""}</span>
          </div>
        ) : null}
        {verdict && !verdict.ok ? (
          <ul className="problems">
            {verdict.messages.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}
