"use client";
import { Field } from "./field";
import { NewPasswordField } from "./new-password-field";

/** A new password with its strength verdict, and the same password again (flagged when it differs). */
export function NewPasswordPair({
  label,
  repeatLabel,
  password,
  onPassword,
  confirm,
  onConfirm,
  onVerdict,
  userInputs,
}: {
  label: string;
  repeatLabel: string;
  password: string;
  onPassword: (v: string) => void;
  confirm: string;
  onConfirm: (v: string) => void;
  onVerdict: (ok: boolean) => void;
  userInputs: readonly string[];
}) {
  const mismatch = confirm !== "" && confirm !== password;
  return (
    <>
      <NewPasswordField
        label={label}
        value={password}
        onChange={onPassword}
        onVerdict={onVerdict}
        userInputs={userInputs}
      />
      <Field
        label={repeatLabel}
        type="password"
        name="confirm-password"
        autoComplete="new-password"
        required
        value={confirm}
        onChange={(e) => onConfirm(e.target.value)}
        aria-invalid={mismatch}
        hint={mismatch ? "The two passwords differ." : undefined}
      />
    </>
  );
}
