"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";
import type { TRole } from "@veil/protocol";
import { useSession } from "../hooks/use-session";
import { useTask } from "../hooks/use-task";
import { signOut, unlock, type SessionState } from "../session-store";
import { Alert } from "./alert";
import { Field } from "./field";
import { Progress } from "./progress";
import { StepUpProvider } from "./step-up";

type Ready = Extract<SessionState, { status: "ready" }>;

const NAV: readonly { href: string; label: string; roles?: readonly TRole[] }[] = [
  { href: "/account", label: "Account" },
  { href: "/instances", label: "Instances" },
  { href: "/users", label: "Users and roles", roles: ["admin"] },
  { href: "/audit", label: "Audit log", roles: ["admin", "auditor"] },
];

function Header({ session }: { session: Ready | null }) {
  const pathname = usePathname();
  const router = useRouter();
  const role = session?.me.user.role;
  return (
    <header className="top">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Link href="/" className="brand">
        Veil
      </Link>
      {session ? (
        <>
          <nav aria-label="Main">
            <ul>
              {NAV.filter((n) => !n.roles || (role && n.roles.includes(role))).map((n) => (
                <li key={n.href}>
                  <Link href={n.href} aria-current={pathname === n.href ? "page" : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <div className="who">
            <span data-testid="who">{session.me.user.email}</span> <span className="badge">{session.me.user.role}</span>
            <button
              type="button"
              onClick={() => {
                void signOut().then(() => router.replace("/login"));
              }}
            >
              Sign out
            </button>
          </div>
        </>
      ) : null}
    </header>
  );
}

function UnlockForm({ email }: { email: string }) {
  const [password, setPassword] = useState("");
  const task = useTask();
  return (
    <section className="card narrow" aria-labelledby="unlock-title">
      <h1 id="unlock-title">Unlock your keys</h1>
      <p>
        You are still signed in as <strong>{email}</strong>, but this tab no longer holds your private keys. Enter your
        password to unlock them; it never leaves this browser.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void task.run((phase) => unlock(password, phase));
        }}
      >
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <Progress phase={task.phase} startedAt={task.startedAt} />
        <Alert>{task.error}</Alert>
        <div className="actions">
          <button className="primary" type="submit" disabled={task.running}>
            Unlock
          </button>
          <button type="button" onClick={() => void signOut()} disabled={task.running}>
            Sign out
          </button>
        </div>
      </form>
    </section>
  );
}

/**
 * The frame of every signed-in page: header and navigation, the session gate (redirect to
 * /login when signed out, unlock prompt when the tab lost its keys, role check) and the
 * step-up provider.
 */
export function Shell({ roles, children }: { roles?: readonly TRole[]; children: (session: Ready) => ReactNode }) {
  const session = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session.status === "anonymous") router.replace("/login");
  }, [session.status, router]);
  let body: ReactNode;
  if (session.status === "loading" || session.status === "anonymous") body = <p className="muted">Loading…</p>;
  else if (session.status === "locked") body = <UnlockForm email={session.me.user.email} />;
  else if (roles && !roles.includes(session.me.user.role))
    body = <Alert>You do not have permission to see this page.</Alert>;
  else body = children(session);
  return (
    <StepUpProvider>
      <Header session={session.status === "ready" ? session : null} />
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </StepUpProvider>
  );
}

/** Frame for the signed-out pages (sign-in, sign-up). */
export function PublicShell({ children }: { children: ReactNode }) {
  return (
    <>
      <Header session={null} />
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
