/** Placeholder home page; the UI (sign-up, log-in, settings, users, audit) builds on this shell. */
export default function HomePage() {
  return (
    <main style={{ fontFamily: "system-ui, sans-serif", maxWidth: "40rem", margin: "4rem auto", padding: "0 1rem" }}>
      <h1>Veil console</h1>
      <p>The console is running. Sign-up and log-in pages arrive next.</p>
    </main>
  );
}
