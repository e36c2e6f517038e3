"use client";
/**
 * /instances/[id]/terminal/[mac] — a shell on one device, carried end to end: browser ↔
 * companion over the Noise session, companion ↔ device over the Veil device channel. The
 * console relays ciphertext only; there is no SSH anywhere. Shown to operators and admins (the
 * companion enforces the same rule from the signed grant); other roles get an explanation.
 */
import Link from "next/link";
import { REQUEST_CATALOGUE, roleAllows } from "@veil/protocol";
import type { InstancePageProps } from "../instances/instance-frame";
import { TerminalPanel } from "./terminal-panel";

export function TerminalPage({ site, mac }: InstancePageProps & { mac: string }) {
  const id = site.instance?.id ?? "";
  const channel = site.open;
  const role = site.channel.status === "open" ? site.channel.hello.role : null;
  let body;
  if (!channel || role === null) {
    body = (
      <p className="muted" role="status" data-testid="terminal-waiting">
        {site.online ? "Opening a secure session…" : "The site is offline: a terminal needs the companion online."}
      </p>
    );
  } else if (!roleAllows(role, REQUEST_CATALOGUE["terminal.open"])) {
    body = (
      <p data-testid="terminal-forbidden">
        Your role on this instance ({role}) cannot open a terminal: a shell can change the device, so it needs the
        operator or admin role. An admin of this instance can grant it.
      </p>
    );
  } else {
    body = <TerminalPanel channel={channel} mac={mac} />;
  }
  return (
    <>
      <p>
        <Link href={`/instances/${id}/devices/${encodeURIComponent(mac)}`}>← Device</Link>
      </p>
      <section className="card" aria-labelledby="terminal-title">
        <h2 id="terminal-title">
          Terminal <code>{mac}</code>
        </h2>
        {body}
        <p className="hint">
          Keystrokes and output travel end to end between this browser and the site&apos;s companion, then over the
          device&apos;s encrypted channel. The companion logs who opened the terminal, when, and how many bytes went
          each way — never what was typed.
        </p>
      </section>
    </>
  );
}
