/** The account's safety code: compare it on every device; a change means a different key. */
export function SafetyCode({ code }: { code: string }) {
  return (
    <figure className="safety-code">
      <figcaption>Your key's safety code</figcaption>
      <code data-testid="safety-code" aria-label={`Safety code ${code}`}>
        {code}
      </code>
      <p className="hint">
        This code names your identity key, which only your browser can unlock. It is the same wherever you sign in. If
        it ever changes without you changing keys, stop and tell your administrator.
      </p>
    </figure>
  );
}
