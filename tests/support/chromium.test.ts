import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { chromiumAvailable, launchChromium } from "./chromium.js";

/** PIDs of live (not zombie) processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (/\) Z /.test(readFileSync(`/proc/${entry}/stat`, "utf8"))) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

describe.skipIf(!chromiumAvailable)("launchChromium", () => {
  test("each launch gets its own new, empty profile folder on Debian's Chromium", async () => {
    const first = await launchChromium();
    const second = await launchChromium();
    try {
      expect(first.userDataDir).not.toBe(second.userDataDir);
      expect(processesMentioning(`--user-data-dir=${first.userDataDir}`).length).toBeGreaterThan(0);
      const page = first.context.pages()[0] ?? (await first.context.newPage());
      expect(await page.evaluate(() => navigator.userAgent)).toMatch(/HeadlessChrome\/\d+/);
      expect(await first.context.cookies()).toEqual([]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  test("close() is idempotent, ends every Chromium process and removes the profile", async () => {
    const browser = await launchChromium();
    await Promise.all([browser.close(), browser.close()]);
    await browser.close();
    expect(existsSync(browser.userDataDir)).toBe(false);
    expect(processesMentioning(`--user-data-dir=${browser.userDataDir}`)).toEqual([]);
  });
});
