"use client";
import { useEffect, useMemo, useState } from "react";
import { copyText, pageClipboardWrites } from "../clipboard";
import { installLines } from "./install-line";

/** How long a copied install line may stay on the clipboard. */
export const CLIPBOARD_CLEAR_MS = 2 * 60_000;

/** The clipboard as the guard uses it; `readText` only where reading asks the user nothing. */
export interface SecretClipboardPort {
  writeText(text: string): Promise<void>;
  readText?: () => Promise<string>;
  /**
   * How many clipboard writes the page made so far (client/clipboard.ts `pageClipboardWrites`):
   * a count past the guard's own write means the page put something else on the clipboard since.
   */
  writes?: () => number;
}

export interface SecretClipboardOptions {
  readonly clearAfterMs?: number;
  readonly setTimer?: (run: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
}

/**
 * What a clear found: `cleared`, the page emptied the clipboard; `absent`, it does not hold the
 * line (read back, or the page never put it there nor saw a copy); `unconfirmed`, the page could
 * not tell and left it (or the browser refused the write): it may still hold the line.
 */
export type ClearOutcome = "cleared" | "absent" | "unconfirmed";

/** Copies a secret and takes it off the clipboard again (see {@link secretClipboard}). */
export interface SecretClipboard {
  /** Writes `text`; true when the clipboard took it. Never throws. */
  copy(text: string): Promise<boolean>;
  /** A copy or cut in the page (a `copy`/`cut` event): what it put on the clipboard is unknown. */
  copiedInPage(): void;
  /** The page lost focus or was hidden: another program may have written the clipboard since. */
  leftPage(): void;
  /**
   * Clears the clipboard if it may still hold what {@link copy} wrote; `gesture`: the user asked
   * for it ("Done"). Never throws. Until it is cleared or found gone, a later call tries again.
   */
  clear(how?: { readonly gesture?: boolean }): Promise<ClearOutcome>;
}

/**
 * The install line holds the instance token: left on the clipboard it outlives the panel and is
 * pasted anywhere later. The guard clears it on "Done", when the panel goes, and `clearAfterMs`
 * after each copy, but never erases what the page itself put on the clipboard later:
 *
 * - where the browser lets the page read the clipboard without asking, it clears only if the
 *   clipboard still holds the line;
 * - otherwise it never clears after a later copy in the page (a `copy`/`cut` event, or a write
 *   through client/clipboard.ts such as the key card), whose text it would erase;
 * - on "Done" (a click: the user's own request, and the moment Firefox and Safari allow a write)
 *   it clears even if the page lost focus since the copy. Leaving the page is the normal way to
 *   use the line (paste it into a terminal, come back, click Done), so treating it as "someone
 *   copied something else" cleared nothing in the common case. The cost: something copied in
 *   another program in between is erased; the panel says so next to the button;
 * - on the timer and when the panel goes (no click) it clears only if the page kept focus since
 *   the copy, so another program's copy is never erased behind the user's back (and Firefox and
 *   Safari refuse a write without a click anyway).
 *
 * "Done" reports `unconfirmed` when the page could not confirm the line is gone, and the panel
 * then says the clipboard may still hold it. Nothing here throws.
 */
export function secretClipboard(port: SecretClipboardPort, options: SecretClipboardOptions = {}): SecretClipboard {
  const {
    clearAfterMs = CLIPBOARD_CLEAR_MS,
    setTimer = (run, ms) => setTimeout(run, ms),
    clearTimer = (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  } = options;
  const written = new Set<string>();
  /** Since the guard's last write (or since the panel opened): a copy or cut in the page; the page left. */
  let copiedInPage = false;
  let leftPage = false;
  /** The page's write count right after the guard's last write. */
  let ownWrite = port.writes?.();
  let timer: unknown = null;
  const stopTimer = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
  };
  const forget = () => {
    written.clear();
    copiedInPage = false;
    leftPage = false;
  };
  const clear = async ({ gesture = false }: { readonly gesture?: boolean } = {}): Promise<ClearOutcome> => {
    stopTimer();
    // Nothing copied with the button: a copy in the page may still have been the line, selected.
    if (written.size === 0) return copiedInPage ? "unconfirmed" : "absent";
    const ours = new Set(written);
    try {
      let holdsOurs: boolean | null = null;
      if (port.readText) {
        try {
          holdsOurs = ours.has(await port.readText());
        } catch {
          // Reading refused: decide from what the page can tell.
        }
      }
      if (holdsOurs === null) {
        const laterPageWrite = port.writes !== undefined && port.writes() !== ownWrite;
        if (copiedInPage || laterPageWrite || (leftPage && !gesture)) return "unconfirmed";
        holdsOurs = true;
      }
      if (!holdsOurs) {
        forget();
        return "absent";
      }
      await port.writeText("");
      forget();
      return "cleared";
    } catch {
      // Best effort: the clipboard stays as it is, and a later clear tries again.
      return "unconfirmed";
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
      copiedInPage = false;
      leftPage = false;
      ownWrite = port.writes?.();
      stopTimer();
      timer = setTimer(() => void clear(), clearAfterMs);
      return true;
    },
    copiedInPage() {
      copiedInPage = true;
    },
    leftPage() {
      leftPage = true;
    },
    clear,
  };
}

/**
 * The page's clipboard, written through client/clipboard.ts (so writes elsewhere in the page are
 * counted) and read back only when the permission is already granted (no prompt).
 */
export function browserClipboard(): SecretClipboardPort {
  return {
    writeText: copyText,
    writes: pageClipboardWrites,
    readText: async () => {
      const status = await navigator.permissions.query({ name: "clipboard-read" as PermissionName });
      if (status.state !== "granted") throw new Error("not readable without asking");
      return navigator.clipboard.readText();
    },
  };
}

/** Shown after "Done" when the page could not confirm the line left the clipboard. */
export const CLIPBOARD_NOTICE =
  "Your clipboard may still hold the install line (it contains the instance token); copy something else over it.";

/**
 * The one-line install command, shown once. The enrollment string inside it is the instance's
 * secret: it is held only in this component's state (never in the URL, storage or a log) and
 * dropped when the admin clicks "Done"; a copy on the clipboard is cleared then, when the panel
 * goes, and two minutes after copying, as far as the page can tell it is still there
 * ({@link secretClipboard}). When "Done" could not confirm the line left the clipboard, the panel
 * shows {@link CLIPBOARD_NOTICE} (without the line) until the admin closes it.
 */
export function InstallPanel({ enrollment, title, onDone }: { enrollment: string; title: string; onDone: () => void }) {
  const lines = installLines(enrollment);
  const [copied, setCopied] = useState<string | null>(null);
  /** After "Done": clearing the clipboard, or the notice that it may still hold the line. */
  const [closing, setClosing] = useState<"clearing" | "notice" | null>(null);
  const clipboard = useMemo(() => secretClipboard(browserClipboard()), []);
  useEffect(() => {
    const copiedInPage = () => clipboard.copiedInPage();
    const left = () => clipboard.leftPage();
    const hidden = () => {
      if (document.visibilityState === "hidden") left();
    };
    document.addEventListener("copy", copiedInPage);
    document.addEventListener("cut", copiedInPage);
    document.addEventListener("visibilitychange", hidden);
    window.addEventListener("blur", left);
    return () => {
      document.removeEventListener("copy", copiedInPage);
      document.removeEventListener("cut", copiedInPage);
      document.removeEventListener("visibilitychange", hidden);
      window.removeEventListener("blur", left);
      void clipboard.clear();
    };
  }, [clipboard]);
  const copy = (which: string, text: string) => {
    void clipboard.copy(text).then((ok) => setCopied(ok ? which : null));
  };
  const done = () => {
    setClosing("clearing");
    void clipboard.clear({ gesture: true }).then((outcome) => {
      if (outcome === "unconfirmed") setClosing("notice");
      else onDone();
    });
  };
  if (closing)
    return (
      <section className="alert alert-success" aria-labelledby="install-title" data-testid="install-panel">
        <h3 id="install-title">{title}</h3>
        {closing === "clearing" ? (
          <p role="status">Clearing the clipboard…</p>
        ) : (
          <>
            <p role="alert" data-testid="install-clipboard-notice">
              {CLIPBOARD_NOTICE}
            </p>
            <div className="actions">
              <button type="button" className="primary" onClick={onDone}>
                Close
              </button>
            </div>
          </>
        )}
      </section>
    );
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
        <button type="button" className="primary" onClick={done}>
          Done, I have copied it
        </button>
      </div>
      <p className="hint" data-testid="install-clipboard-hint">
        “Done” also empties your clipboard if it may still hold the line, unless you copied something else on this page
        since. Something you copied in another program since may be erased too.
      </p>
    </section>
  );
}
