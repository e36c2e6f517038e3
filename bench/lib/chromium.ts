import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium, type BrowserContext, type Page } from "playwright-core";

// Same launch as tests/support/chromium.ts (Debian's Chromium, flags for this container).
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface BenchPage {
  readonly page: Page;
  readonly version: string;
  close(): Promise<void>;
}

/** Bundles `entry` for the browser and opens it in a fresh headless Chromium over http://127.0.0.1. */
export async function openBenchPage(entry: string): Promise<BenchPage> {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    minify: true,
  });
  const js = bundle.outputFiles[0]?.text ?? "";
  const server: Server = createServer((req, res) => {
    if (req.url === "/bench.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    } else {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end('<!doctype html><script type="module" src="/bench.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const userDataDir = await mkdtemp(join(tmpdir(), "veil-bench-chromium-"));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => document.readyState === "complete");
    const version =
      context.browser()?.version() ??
      (await page.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? "?"));
    const ctx = context;
    return {
      page,
      version,
      async close() {
        await ctx.close().catch(() => undefined);
        server.close();
        await rm(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await context?.close().catch(() => undefined);
    server.close();
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
}
