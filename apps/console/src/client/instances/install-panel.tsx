"use client";
import { useState } from "react";
import { installLines } from "./install-line";

/**
 * The one-line install command, shown once. The enrollment string inside it is the instance's
 * secret: it is held only in this component's state (never in the URL, storage or a log) and
 * dropped when the admin clicks "Done".
 */
export function InstallPanel({ enrollment, title, onDone }: { enrollment: string; title: string; onDone: () => void }) {
  const lines = installLines(enrollment);
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (which: string, text: string) => {
    void navigator.clipboard.writeText(text).then(
      () => setCopied(which),
      () => setCopied(null),
    );
  };
  return (
    <section className="alert alert-success" aria-labelledby="install-title" data-testid="install-panel">
      <h3 id="install-title">{title}</h3>
      <p>
        <strong>This line is shown only now.</strong> It contains the instance's secret token: anyone who has it can
        enroll as this instance until you rotate or revoke it. Veil keeps no copy — if you lose it, rotate the token
        from the instance page. Run it on the site host (Linux with systemd, Node.js 20 or newer):
      </p>
      <p>
        <code className="wrap" data-testid="install-line">
          {lines.system}
        </code>
      </p>
      <div className="actions">
        <button type="button" onClick={() => copy("system", lines.system)}>
          Copy command
        </button>
        {copied ? <span role="status">Copied.</span> : null}
      </div>
      <details>
        <summary>Without root or systemd</summary>
        <p>Installs into a folder you own and runs the companion in the foreground:</p>
        <p>
          <code className="wrap" data-testid="install-line-prefix">
            {lines.prefix}
          </code>
        </p>
        <button type="button" onClick={() => copy("prefix", lines.prefix)}>
          Copy command without systemd
        </button>
      </details>
      <p className="hint">
        curl checks the console's key against the pin in the line (<code>--pinnedpubkey</code>), so the script comes
        from this console even with a self-signed certificate; the companion pins the same key.
      </p>
      <p className="hint" data-testid="install-line-why">
        The token reaches the installer on its standard input. <code>printf</code> is built into the shell, so no
        program has the token as an argument (every user on the host can read those with <code>ps</code>), and it is
        neither an argument nor an environment variable of <code>sudo</code>, which logs both. The installer is saved to
        a private temporary file first and removed when the line ends. Keep the line as it is.
      </p>
      <div className="actions">
        <button type="button" className="primary" onClick={onDone}>
          Done, I have copied it
        </button>
      </div>
    </section>
  );
}
