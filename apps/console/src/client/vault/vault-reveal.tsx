"use client";
import { useCallback, useEffect, useState } from "react";
import type { TVaultSecret } from "@veil/protocol";
import { ApiError } from "../api";
import { useStepUp } from "../components/step-up";
import { getMe } from "../endpoints";
import type { InstanceChannel } from "../instances/e2e-channel";

/** How long a revealed secret stays on screen. */
export const REVEAL_SECONDS = 30;

export interface Revealed {
  readonly entryId: string;
  readonly secret: TVaultSecret;
  readonly notes: string | null;
  readonly until: number;
}

/**
 * Reveal with step-up: the console must confirm a fresh password proof (the step-up window of
 * GET /api/me; otherwise the step-up dialog asks for the password) before this browser sends
 * `vault.reveal`. The secret then lives only in this component's state, for REVEAL_SECONDS,
 * and is dropped when hidden, on unmount or when the timer runs out. It is never written to a
 * URL, storage or the console log.
 */
export function useReveal(open: InstanceChannel) {
  const withStepUp = useStepUp();
  const [shown, setShown] = useState<Revealed | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (!shown) return;
    const t = setInterval(() => {
      const n = Date.now();
      setNow(n);
      if (n >= shown.until) setShown(null);
    }, 500);
    return () => clearInterval(t);
  }, [shown]);

  const reveal = useCallback(
    async (entryId: string) => {
      setError(null);
      setShown(null);
      try {
        const r = await withStepUp(async () => {
          const me = await getMe();
          const until = me.session.stepUpUntil ? Date.parse(me.session.stepUpUntil) : 0;
          if (until <= Date.now())
            throw new ApiError("step_up_required", "Confirm your password to reveal a credential.");
          return open.request("vault.reveal", { entryId });
        });
        if (r.status === "locked") return setError("Unlock the vault to reveal credentials.");
        if (r.status === "not_found") return setError("That entry no longer exists.");
        if (r.status !== "ok")
          return setError("That entry does not open: its sealed data or metadata was altered on the site.");
        setShown({ entryId, secret: r.secret, notes: r.notes ?? null, until: Date.now() + REVEAL_SECONDS * 1000 });
        setNow(Date.now());
      } catch (e) {
        setError(e instanceof Error ? e.message : "Could not reveal the credential.");
      }
    },
    [open, withStepUp],
  );
  return {
    shown,
    error,
    reveal,
    hide: () => setShown(null),
    secondsLeft: shown ? Math.max(0, Math.ceil((shown.until - now) / 1000)) : 0,
  };
}

/** The revealed secret of one entry, with a countdown and "Hide now". */
export function RevealBox({
  shown,
  secondsLeft,
  onHide,
}: {
  shown: Revealed;
  secondsLeft: number;
  onHide: () => void;
}) {
  const s = shown.secret;
  return (
    <div className="reveal" data-testid="revealed-secret" role="region" aria-label="Revealed credential">
      <dl className="facts">
        <dt>User name</dt>
        <dd>
          <code>{s.username}</code>
        </dd>
        {s.kind === "password" ? (
          <>
            <dt>Password</dt>
            <dd>
              <code data-testid="revealed-password">{s.password}</code>
            </dd>
          </>
        ) : (
          <>
            <dt>SSH private key</dt>
            <dd>
              <pre className="reveal-key">{s.privateKey}</pre>
            </dd>
            {s.passphrase ? (
              <>
                <dt>Passphrase</dt>
                <dd>
                  <code>{s.passphrase}</code>
                </dd>
              </>
            ) : null}
          </>
        )}
        {shown.notes ? (
          <>
            <dt>Notes</dt>
            <dd className="reveal-notes">{shown.notes}</dd>
          </>
        ) : null}
      </dl>
      <p className="hint">
        Hidden again in <span data-testid="reveal-countdown">{secondsLeft}</span> s.{" "}
        <button type="button" className="small" onClick={onHide}>
          Hide now
        </button>
      </p>
    </div>
  );
}
