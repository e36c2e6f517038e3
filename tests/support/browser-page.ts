import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { launchChromium, type LaunchedChromium } from "./chromium.js";

export interface BundledPage {
  readonly page: Page;
  /** http://127.0.0.1:<port>/ — loopback, so a secure context (WebCrypto available). */
  readonly url: string;
  /** Messages the page logged with console.error, and uncaught page errors. */
  readonly errors: readonly string[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Bundles `entry` with esbuild exactly as a browser app would get it (platform browser, so
 * package.json "browser" fields apply and no node: built-ins resolve), serves it from a
 * throwaway HTTP server on 127.0.0.1:0, and opens it in a fresh Chromium. Resolves once the
 * module has run, i.e. once `globalThis[readyGlobal]` is defined.
 */
export async function openBundledPage(entry: string, readyGlobal: string): Promise<BundledPage> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    sourcemap: "inline",
  });
  const js = result.outputFiles[0]?.text;
  if (js === undefined) throw new Error(`esbuild produced no output for ${entry}`);

  const server: Server = createServer((req, res) => {
    if (req.url === "/entry.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" }).end(js);
    } else if (req.url === "/") {
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end(
          '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>veil e2e</title><script type="module" src="/entry.js"></script>',
        );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  let browser: LaunchedChromium | undefined;
  const closeServer = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  try {
    browser = await launchChromium();
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(url);
    await page
      .waitForFunction((name) => (globalThis as Record<string, unknown>)[name] !== undefined, readyGlobal, {
        timeout: 15_000,
      })
      .catch((error: unknown) => {
        throw new Error(`page never defined ${readyGlobal}: ${errors.join("; ") || String(error)}`);
      });
    const launched = browser;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= Promise.all([launched.close(), closeServer()]).then(() => undefined));
    return { page, url, errors, close, [Symbol.asyncDispose]: close };
  } catch (error) {
    await Promise.all([browser?.close(), closeServer()]);
    throw error;
  }
}
