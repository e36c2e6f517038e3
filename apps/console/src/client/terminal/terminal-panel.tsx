"use client";
/**
 * The terminal emulator (xterm.js, loaded in the browser only, on demand) wired to a
 * {@link TerminalBridge}: keystrokes go out batched per animation frame, device bytes are
 * written as they arrive, width changes resize the device's shell, and a status line says
 * whether the shell is open and why it closed.
 */
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef, useState } from "react";
import type { Terminal } from "@xterm/xterm";
import type { InstanceChannel } from "../instances/e2e-channel";
import { TerminalBridge, type TerminalStatus } from "./terminal-bridge";

const ROWS = 24;
const FONT_SIZE = 14;
const FONT = 'ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace';

const REASONS: Record<string, string> = {
  closed: "closed",
  exited: "the shell ended",
  device_offline: "the device went offline",
  idle: "closed after being idle",
  session_closed: "the secure session ended",
  overflow: "output came faster than it could be delivered",
  device_refused: "the device refused the terminal",
  stream_ended: "the companion ended the stream",
};

/** Columns that fit the host's width, measured with the terminal's font. */
function fitColumns(host: HTMLElement): number {
  const probe = document.createElement("span");
  probe.style.cssText = `position:absolute;visibility:hidden;white-space:pre;font-family:${FONT};font-size:${FONT_SIZE}px`;
  probe.textContent = "W".repeat(50);
  host.appendChild(probe);
  const cell = probe.getBoundingClientRect().width / 50 || FONT_SIZE * 0.6;
  probe.remove();
  // Leave room for the scroll bar xterm draws on the right.
  return Math.max(20, Math.min(500, Math.floor((host.clientWidth - 20) / cell)));
}

/**
 * xterm.js adds `<style>` elements for its theme and cell size, and the console's CSP admits
 * style elements only with the page's nonce (server/http/security-headers.ts). While a terminal
 * is mounted, `<style>` elements created on this document carry the nonce that Next's own
 * scripts carry; the returned function restores the document. Nothing else is relaxed.
 */
function nonceStyleElements(doc: Document): () => void {
  const nonce = doc.querySelector<HTMLScriptElement>("script[nonce]")?.nonce;
  if (!nonce) return () => undefined;
  const create = Document.prototype.createElement.bind(doc);
  Object.defineProperty(doc, "createElement", {
    configurable: true,
    value: (tag: string, options?: ElementCreationOptions): HTMLElement => {
      const el = create(tag, options);
      if (el instanceof HTMLStyleElement) el.nonce = nonce;
      return el;
    },
  });
  return () => {
    Reflect.deleteProperty(doc, "createElement");
  };
}

function StatusLine({ status, mac }: { status: TerminalStatus; mac: string }) {
  let text: string;
  switch (status.state) {
    case "opening":
      text = `Opening a shell on ${mac}…`;
      break;
    case "open":
      text = `Connected to ${mac} (${status.cols}×${status.rows}).`;
      break;
    case "closed":
      text = `Terminal closed: ${REASONS[status.reason] ?? status.reason}. Sent ${status.bytesIn} B, received ${status.bytesOut} B.`;
      break;
    case "failed":
      text = status.message;
      break;
  }
  return (
    <p
      className={status.state === "failed" ? "terminal-status alert alert-error" : "terminal-status muted"}
      role="status"
      data-testid="terminal-status"
      data-state={status.state}
    >
      {text}
    </p>
  );
}

export function TerminalPanel({ channel, mac }: { channel: InstanceChannel; mac: string }) {
  const host = useRef<HTMLDivElement>(null);
  const bridgeRef = useRef<TerminalBridge | null>(null);
  const [status, setStatus] = useState<TerminalStatus>({ state: "opening" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let disposed = false;
    let term: Terminal | undefined;
    let observer: ResizeObserver | undefined;
    const restoreDocument = nonceStyleElements(document);
    // Output counts as taken in (and is acknowledged to the companion) once xterm parsed it: a busy
    // page slows the device down instead of piling output up in xterm's write queue.
    const bridge = new TerminalBridge(channel, {
      output: (bytes) => {
        const t = term;
        return t ? new Promise<void>((resolve) => t.write(bytes, resolve)) : undefined;
      },
      status: setStatus,
    });
    bridgeRef.current = bridge;
    void (async () => {
      const { Terminal } = await import("@xterm/xterm");
      const el = host.current;
      if (disposed || !el) return;
      const cols = fitColumns(el);
      term = new Terminal({
        cols,
        rows: ROWS,
        fontFamily: FONT,
        fontSize: FONT_SIZE,
        cursorBlink: true,
        scrollback: 2000,
        screenReaderMode: true,
        // Device output can carry OSC 8 hyperlinks: none is followed from the console's page.
        linkHandler: { activate: () => undefined, allowNonHttpProtocols: false },
      });
      term.open(el);
      term.onData((data) => bridge.type(data));
      const t = term;
      observer = new ResizeObserver(() => {
        const next = fitColumns(el);
        if (next === t.cols) return;
        t.resize(next, ROWS);
        bridge.resize(next, ROWS);
      });
      observer.observe(el);
      await bridge.open(mac, cols, ROWS);
      if (!disposed) t.focus();
    })();
    return () => {
      disposed = true;
      observer?.disconnect();
      bridge.dispose();
      term?.dispose();
      restoreDocument();
    };
  }, [channel, mac, attempt]);

  const ended = status.state === "closed" || status.state === "failed";
  return (
    <>
      <StatusLine status={status} mac={mac} />
      <div className="terminal-host" ref={host} data-testid="terminal-screen" />
      <p className="terminal-actions">
        <button
          type="button"
          onClick={() => void bridgeRef.current?.close()}
          disabled={status.state !== "open"}
          data-testid="terminal-close"
        >
          Close terminal
        </button>{" "}
        {ended ? (
          <button type="button" onClick={() => setAttempt((n) => n + 1)} data-testid="terminal-reopen">
            Open a new terminal
          </button>
        ) : null}
      </p>
    </>
  );
}
