"use client";
import { useEffect, useMemo, useState } from "react";
import { installLines } from "./install-line";

/** How long a copied install line may stay on the clipboard. */
export const CLIPBOARD_CLEAR_MS = 2 * 60_000;

/** The clipboard as the guard uses it; `readText` only where reading asks the user nothing. */
export interface SecretClipboardPort {
  writeText(text: string): Promise<void>;
  readText?: () => Promise<string>;
}

export interface SecretClipboardOptions {
  readonly clearAfterMs?: number;
  readonly setTimer?: (run: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
}

/** Copies a secret and takes it off the clipboard again (see {@link secretClipboard}). */
export interface SecretClipboard {
  /** Writes `text`; true when the clipboard took it. Never throws. */
  copy(text: string): Promise<boolean>;
  /** Something else may have written the clipboard since (a copy in the page, the page lost focus). */
  foreignActivity(): void;
  /** Clears the clipboard if it still holds what {@link copy} wrote. Never throws. */
  clear(): Promise<void>;
}

/**
 * The install line holds the instance token: left on the clipboard it outlives the panel and is
 * pasted anywhere later. The guard clears it on "Done", when the panel goes, and
 * `clearAfterMs` after each copy, but only when the clipboard still holds it: read back when the
 * browser lets the page read without asking, else only when this page wrote last as far as it
 * can tell (no copy or cut in the page, and the page kept focus since), so someone's own later
 * copy in another program is never erased. Best effort; nothing here throws.
 */
export function secretClipboard(port: SecretClipboardPort, options: SecretClipboardOptions = {}): SecretClipboard {
  const {
    clearAfterMs = CLIPBOARD_CLEAR_MS,
    setTimer = (run, ms) => setTimeout(run, ms),
    clearTimer = (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  } = options;
  const written = new Set<string>();
  let lastWriter = false;
  let timer: unknown = null;
  const stopTimer = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
  };
  const clear = async (): Promise<void> => {
    stopTimer();
    if (written.size === 0) return;
    const ours = new Set(written);
    const wroteLast = lastWriter;
    written.clear();
    lastWriter = false;
    try {
      let holdsOurs = wroteLast;
      if (port.readText) {
        try {
          holdsOurs = ours.has(await port.readText());
        } catch {
          // Reading refused: fall back to what the page can tell.
        }
      }
      if (holdsOurs) await port.writeText("");
    } catch {
      // Best effort: the clipboard stays as it is.
    }
  };
  return {
    async copy(text) {
      try {
        await port.writeText(text);
      } catch {
        return false;
      }
      written.add(text);
      lastWriter = true;
      stopTimer();
      timer = setTimer(() => void clear(), clearAfterMs);
      return true;
    },
    foreignActivity() {
      lastWriter = false;
    },
    clear,
  };
}

/** The page's clipboard, read back only when the permission is already granted (no prompt). */
function browserClipboard(): SecretClipboardPort {
  return {
    writeText: (text) => navigator.clipboard.writeText(text),
    readText: async () => {
      const status = await navigator.permissions.query({ name: "clipboard-read" as PermissionName });
      if (status.state !== "granted") throw new Error("not readable without asking");
      return navigator.clipboard.readText();
    },
  };
}

/**
 * The one-line install command, shown once. The enrollment string inside it is the instance's
 * secret: it is held only in this component's state (never in the URL, storage or a log) and
 * dropped when the admin clicks "Done"; a copy on the clipboard is cleared then, when the panel
 * goes, and two minutes after copying, if it is still there ({@link secretClipboard}).
 */
export function InstallPanel({ enrollment, title, onDone }: { enrollment: string; title: string; onDone: () => void }) {
  const lines = installLines(enrollment);
  const [copied, setCopied] = useState<string | null>(null);
  const clipboard = useMemo(() => secretClipboard(browserClipboard()), []);
  useEffect(() => {
    const foreign = () => clipboard.foreignActivity();
    const hidden = () => {
      if (document.visibilityState === "hidden") foreign();
    };
    document.addEventListener("copy", foreign);
    document.addEventListener("cut", foreign);
    document.addEventListener("visibilitychange", hidden);
    window.addEventListener("blur", foreign);
    return () => {
      document.removeEventListener("copy", foreign);
      document.removeEventListener("cut", foreign);
      document.removeEventListener("visibilitychange", hidden);
      window.removeEventListener("blur", foreign);
      void clipboard.clear();
    };
  }, [clipboard]);
  const copy = (which: string, text: string) => {
    void clipboard.copy(text).then((ok) => setCopied(ok ? which : null));
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
        <button
          type="button"
          className="primary"
          onClick={() => {
            void clipboard.clear();
            onDone();
          }}
        >
          Done, I have copied it
        </button>
      </div>
    </section>
  );
}
