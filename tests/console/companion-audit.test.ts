// The companion audit log in a real browser (issue 6): a real console (HTTPS, Next.js UI,
// relay, PGlite), Debian's Chromium for the admin and the real companion CLI. The admin's
// requests land in the companion's hash-chained log; the audit page reads it end to end and
// re-verifies every page in the browser. Then the log file is edited on the site host and the
// companion restarted: the page names the changed record and shows the break the companion
// found on start.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { decodeEnrollment } from "@veil/protocol";
import type { Page } from "playwright-core";
import { chromiumAvailable } from "../support/chromium.js";
import { BrowserSuite, PASSWORD, screenshot, unnamedControls } from "./harness";
import {
  addInstance,
  enrollFrom,
  openInstance,
  signUpAdmin,
  Site,
  waitForInstanceStatus,
  type Companion,
} from "./site";

const EMAIL = "audit@example.test";
const COMPANION_ENV = { VEIL_INFORM_PORT: "0", VEIL_DEVICE_CHANNEL_PORT: "0", VEIL_DEVICE_BIND: "127.0.0.1" };

// Needs Debian's Chromium (tests/support/chromium.ts); without it the browser suites skip.
describe.skipIf(!chromiumAvailable)("companion audit log in Chromium", () => {
  const suite = new BrowserSuite();
  const site = new Site();
  let running: Companion;
  let stateDir = "";
  let instanceId = "";
  const page = (): Page => suite.main.page;
  const rows = () => page().getByTestId("audit-row");
  const chain = () => page().getByTestId("audit-chain");

  const openAudit = async () => {
    await page().goto(`${suite.consoleServer.url}/instances/${instanceId}/audit`);
    await chain()
      .waitFor({ timeout: 60_000 })
      .catch(async (e: unknown) => {
        await screenshot(page(), "companion-audit-no-chain");
        throw e;
      });
  };

  beforeAll(async () => {
    await suite.open();
  }, 120_000);

  afterAll(async () => {
    await site.close();
    await suite.close();
  });

  test("the admin signs up, adds an instance, runs its companion and opens the instance", async () => {
    await signUpAdmin(page(), suite.consoleServer.url, EMAIL, PASSWORD);
    const { line } = await addInstance(page(), "Audited depot");
    instanceId = decodeEnrollment(enrollFrom(line)).instanceId;
    const started = await site.enrollAndRun(line, COMPANION_ENV);
    running = started.running;
    stateDir = started.dir;
    await waitForInstanceStatus(page(), instanceId, "online");
    await openInstance(page(), suite.consoleServer.url, instanceId); // asks system.info end to end
  }, 180_000);

  test("the audit page lists the requests, newest first, with the chain verified in the browser", async () => {
    await openAudit();
    expect(await chain().getAttribute("data-state")).toBe("verified");
    expect(await chain().textContent()).toContain("Chain verified");
    const types = await rows().evaluateAll((els) => els.map((e) => e.getAttribute("data-type")));
    expect(types).toContain("session.open");
    expect(types).toContain("system.info");
    expect(types).toContain("audit.start"); // the companion's first start, verified
    const seqs = await rows().evaluateAll((els) => els.map((e) => Number(e.querySelector("td")?.textContent)));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(await unnamedControls(page())).toEqual([]);

    await page().getByLabel("Request type").selectOption("system.info");
    await expect.poll(() => rows().count()).toBeGreaterThan(0);
    expect(new Set(await rows().evaluateAll((els) => els.map((e) => e.getAttribute("data-type"))))).toEqual(
      new Set(["system.info"]),
    );
    await screenshot(page(), "companion-audit-01-verified");

    // This browser remembers the head it verified: the next visit checks the log still passes through it.
    const continuity = () => page().getByTestId("audit-continuity");
    expect(await continuity().getAttribute("data-state")).toBe("first");
    await openAudit();
    await expect.poll(() => continuity().getAttribute("data-state")).toBe("continues");
    expect(await continuity().textContent()).toContain("Continues the log this browser verified");
  }, 120_000);

  test("a record edited on the site host is named in the browser, and the companion reports the break", async () => {
    running.child.kill("SIGTERM");
    await running.exit;
    const file = readdirSync(stateDir)
      .filter((n) => /^audit-\d{12}\.jsonl$/.test(n))
      .sort()[0];
    if (file === undefined) throw new Error("no audit file");
    const path = join(stateDir, file);
    const lines = readFileSync(path, "utf8").split("\n");
    const target = lines.findIndex((l) => l.includes('"type":"system.info"'));
    expect(target).toBeGreaterThan(0);
    const seq = (JSON.parse(lines[target] ?? "{}") as { seq: number }).seq;
    lines[target] = (lines[target] ?? "").replace('"result":"ok"', '"result":"error"');
    writeFileSync(path, lines.join("\n"));

    running = site.run("run", stateDir, COMPANION_ENV);
    await page().goto(`${suite.consoleServer.url}/instances`);
    await waitForInstanceStatus(page(), instanceId, "online");
    await openAudit();
    // The page holds the newest records; load older pages until the edited one is in.
    for (let i = 0; i < 10 && (await page().getByTestId("audit-break").count()) === 0; i++) {
      const older = page().getByRole("button", { name: "Load older records" });
      if ((await older.count()) === 0) break;
      await older.click();
      await page().waitForTimeout(500);
    }
    expect(await chain().getAttribute("data-state")).toBe("broken");
    const breaks = page().getByTestId("audit-break");
    expect(await breaks.first().getAttribute("data-seq")).toBe(String(seq));
    expect(await breaks.first().textContent()).toContain(`record ${seq} was changed`);
    expect(await page().getByTestId("audit-notices").textContent()).toContain(`hash_mismatch at seq ${seq}`);
    expect(suite.main.errors).toEqual([]);
    await screenshot(page(), "companion-audit-02-broken");
  }, 180_000);
  test("a log that no longer passes through the head this browser verified is refused, until the operator takes it as the reference", async () => {
    const continuity = () => page().getByTestId("audit-continuity");
    await openAudit();
    await expect.poll(() => continuity().getAttribute("data-state")).toBe("continues");
    // What a host that rewrote its log (every hash recomputed) looks like from here: the record
    // this browser remembers no longer carries the hash it verified. Heads are kept per account
    // (and identity key): { "<account id>.<identity-key fingerprint>": { "<instance id>": head } }.
    const scopes = await page().evaluate((id) => {
      const key = "veil.audit-heads.v2";
      const all = JSON.parse(localStorage.getItem(key) ?? "{}") as Record<
        string,
        Record<string, { seq: number; hash: string }>
      >;
      const holding = Object.keys(all).filter((scope) => all[scope]?.[id] !== undefined);
      for (const scope of holding) {
        const heads = all[scope] ?? {};
        const seen = heads[id];
        if (seen === undefined) continue;
        all[scope] = { ...heads, [id]: { ...seen, hash: "0".repeat(64) } };
      }
      localStorage.setItem(key, JSON.stringify(all));
      return holding;
    }, instanceId);
    // Only the signed-in admin's share holds it.
    expect(scopes).toHaveLength(1);
    expect(scopes[0]).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]+$/);
    await openAudit();
    await expect.poll(() => continuity().getAttribute("data-state")).toBe("broken");
    expect(await continuity().textContent()).toContain("is not the one this browser verified");
    await screenshot(page(), "companion-audit-03-not-continued");
    await page().getByRole("button", { name: "Take the log as it is now as the reference" }).click();
    await expect.poll(() => continuity().getAttribute("data-state")).toBe("continues");
    await openAudit();
    await expect.poll(() => continuity().getAttribute("data-state")).toBe("continues");
    expect(suite.main.errors).toEqual([]);
  }, 120_000);
});
