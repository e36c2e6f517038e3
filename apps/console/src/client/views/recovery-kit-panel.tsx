"use client";
import { useState } from "react";

/** Shows a new recovery code once, printable, and asks the user to confirm they kept it. */
export function RecoveryKitPanel({ code, email, onDone }: { code: string; email: string; onDone: () => void }) {
  const [saved, setSaved] = useState(false);
  return (
    <section className="card recovery-kit printable" aria-labelledby="kit-title" data-testid="recovery-kit">
      <h2 id="kit-title">Your recovery kit</h2>
      <p>
        Print this page or write the code down and keep it somewhere safe, away from this computer. It is shown{" "}
        <strong>only now</strong>.
      </p>
      <dl>
        <dt>Account</dt>
        <dd>{email}</dd>
        <dt>Recovery code</dt>
        <dd>
          <code className="big" data-testid="recovery-code">
            {code}
          </code>
        </dd>
      </dl>
      <p className="hint">
        The code unlocks a second copy of your private keys. Veil cannot reset passwords: with neither your password nor
        this kit, your keys cannot be recovered by anyone — not by the console&apos;s operator, not by us.
      </p>
      <div className="actions no-print">
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
      </div>
      <div className="field no-print">
        <label>
          <input type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} /> I have saved my
          recovery code
        </label>
      </div>
      <div className="actions no-print">
        <button className="primary" type="button" disabled={!saved} onClick={onDone}>
          Continue
        </button>
      </div>
    </section>
  );
}
