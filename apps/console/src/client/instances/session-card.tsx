import type { ChannelState } from "./use-channel";

/** The E2E session panel: state, role, round-trip time and grant expiry. */
export function SessionCard({ state, rtt, idle }: { state: ChannelState; rtt: number | null; idle: string }) {
  return (
    <section className="card" aria-labelledby="session-title">
      <h2 id="session-title">Secure session</h2>
      {state.status === "open" ? (
        <dl className="facts">
          <dt>State</dt>
          <dd data-testid="session-state">connected end to end (Noise_KK)</dd>
          <dt>Your role here</dt>
          <dd>{state.hello.role}</dd>
          <dt>Round trip</dt>
          <dd>
            <output data-testid="rtt" aria-live="off">
              {rtt === null ? "measuring…" : `${rtt.toFixed(0)} ms`}
            </output>
          </dd>
          <dt>Grant valid until</dt>
          <dd>{new Date(state.hello.grantExpiresAt).toLocaleString()}</dd>
        </dl>
      ) : state.status === "connecting" ? (
        <p role="status" data-testid="session-state">
          Opening a secure session…
        </p>
      ) : (
        <p data-testid="session-state" className="muted">
          {state.message ?? idle}
        </p>
      )}
      <p className="hint">
        The console relays this session's frames but cannot read, forge, replay or reorder them. Everything below is
        decrypted in this browser.
      </p>
    </section>
  );
}
