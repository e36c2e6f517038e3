import type { Metadata } from "next";
import { headers } from "next/headers";
import type { ReactNode } from "react";

export const metadata: Metadata = {
  title: "Veil console",
  description: "A device-management console that its own operator cannot read.",
  referrer: "no-referrer",
};

/**
 * Root layout. The custom server generates a CSP nonce per request and passes it in the
 * `x-nonce` request header (and in the request's Content-Security-Policy header, from which
 * Next.js nonces its own scripts). Reading headers() makes every page dynamic, which a
 * per-request nonce requires. Pass `nonce` to any <Script> or inline <style> you add.
 */
export default async function RootLayout({ children }: { children: ReactNode }) {
  const nonce = (await headers()).get("x-nonce") ?? undefined;
  return (
    <html lang="en">
      <body data-nonce-present={nonce ? "true" : "false"}>{children}</body>
    </html>
  );
}
