import { Field } from "./field";

/** The account e-mail input of the log-in, sign-up and recovery forms. */
export function EmailField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <Field
      label="E-mail"
      type="email"
      name="email"
      autoComplete="username"
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}
