import type { Metadata, Viewport } from "next";
import { headers } from "next/headers";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Veil console", template: "%s · Veil" },
  description: "A device-management console that its own operator cannot read.",
  referrer: "no-referrer",
  robots: { index: false, follow: false },
};

export const viewport: Viewport = { width: "device-width", initialScale: 1, colorScheme: "light dark" };

/**
 * Root layout. The custom server makes a CSP nonce per request and passes it in the `x-nonce`
 * request header and in the request's Content-Security-Policy header, from which Next.js
 * nonces its own scripts. Reading headers() makes every page dynamic, which a per-request
 * nonce requires. The UI adds no inline scripts or style elements of its own; anything that
 * ever must gets `nonce` from here.
 */
export default async function RootLayout({ children }: { children: ReactNode }) {
  const nonce = (await headers()).get("x-nonce") ?? undefined;
  return (
    <html lang="en">
      <body data-nonce-present={nonce ? "true" : "false"}>{children}</body>
    </html>
  );
}
