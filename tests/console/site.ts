// A site for the browser tests: the real `veil-companion` CLI (from source, through tsx) in a
// temporary 0700 state folder, enrolled from the line a real console page shows, plus the admin
// walk-through that gets there (sign up, add an instance). Shared by every suite that needs a
// companion behind the console (instances, devices, vault, terminal).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import type { Page } from "playwright-core";
import { screenshot } from "./harness";

const REPO = resolve(import.meta.dirname, "..", "..");
const TSX = join(REPO, "apps", "companion", "node_modules", ".bin", "tsx");
const COMPANION_MAIN = join(REPO, "apps", "companion", "src", "main.ts");

/** A running (or finished) companion CLI process. */
export interface Companion {
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  output(): string;
}

/** The real `veil-companion` CLI. The enrollment string goes in VEIL_ENROLL, never argv. */
export function companion(command: string, stateDir: string, env: Record<string, string> = {}): Companion {
  const child = spawn(TSX, [COMPANION_MAIN, command], {
    env: { ...process.env, NODE_ENV: "production", VEIL_STATE_DIR: stateDir, VEIL_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr?.on("data", (c: Buffer) => (out += c.toString("utf8")));
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, exit, output: () => out };
}

/** The enrollment string of a shown install line (single-quoted: printf's argument, or VEIL_ENROLL's value). */
export function enrollFrom(line: string): string {
  const m = /'(veil1_[A-Za-z0-9_-]+)'/.exec(line);
  if (!m?.[1]) throw new Error(`no enrollment string in: ${line.slice(0, 80)}…`);
  return m[1];
}

/** Companions and state folders of one test file, stopped and removed by `close()`. */
export class Site {
  readonly companions: Companion[] = [];
  readonly #dirs: string[] = [];

  /** A fresh 0700 state folder, removed at `close()`. */
  stateDir(): string {
    const d = mkdtempSync(join(tmpdir(), "veil-ui-companion-"));
    this.#dirs.push(d);
    return d;
  }

  /** Runs one CLI command, tracked for `close()`. */
  run(command: string, stateDir: string, env: Record<string, string> = {}): Companion {
    const c = companion(command, stateDir, env);
    this.companions.push(c);
    return c;
  }

  /**
   * Enrolls with the VEIL_ENROLL of `line` into a new state folder, then starts `run` there with
   * `env` (for example VEIL_INFORM_PORT=0). Returns the running companion and its folder.
   */
  async enrollAndRun(line: string, env: Record<string, string> = {}): Promise<{ running: Companion; dir: string }> {
    const dir = this.stateDir();
    const enroll = this.run("enroll", dir, { VEIL_ENROLL: enrollFrom(line) });
    expect(await enroll.exit, enroll.output()).toBe(0);
    return { running: this.run("run", dir, env), dir };
  }

  async close(): Promise<void> {
    for (const c of this.companions) if (c.child.exitCode === null) c.child.kill("SIGTERM");
    await Promise.all(this.companions.map((c) => Promise.race([c.exit, new Promise((r) => setTimeout(r, 5000))])));
    for (const d of this.#dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Signs up the first account (it becomes the console admin) and lands on /account. */
export async function signUpAdmin(page: Page, consoleUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${consoleUrl}/signup`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await expect.poll(() => page.getByTestId("password-verdict").textContent(), { timeout: 15_000 }).toMatch(/strong/i);
  await page.getByLabel("Make a printable recovery kit").uncheck();
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL("**/account", { timeout: 60_000 }).catch(async (e: unknown) => {
    await screenshot(page, "site-signup-failed");
    throw e;
  });
}

/**
 * Adds an instance from the instances page and returns the shown install line (before "Done").
 * The page stays on /instances with the line dismissed.
 */
export async function addInstance(page: Page, name: string): Promise<{ line: string }> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
  await page.waitForURL("**/instances");
  await page.getByLabel("Instance name").fill(name);
  await page.getByRole("button", { name: "Add instance" }).click();
  const shown = page.getByTestId("install-line");
  await shown.waitFor({ timeout: 60_000 });
  const line = (await shown.textContent()) ?? "";
  await page.getByRole("button", { name: "Done, I have copied it" }).click();
  return { line };
}

/** Waits until the instance row shows `status` (for example "online"). */
export async function waitForInstanceStatus(page: Page, instanceId: string, status: string): Promise<void> {
  const cell = page.locator(`tr[data-instance-id="${instanceId}"] [data-testid="instance-status"]`);
  await expect.poll(() => cell.textContent(), { timeout: 30_000 }).toBe(status);
}

/** Opens the instance page and waits for the end-to-end session. */
export async function openInstance(page: Page, consoleUrl: string, instanceId: string): Promise<void> {
  await page.goto(`${consoleUrl}/instances/${instanceId}`);
  await expect
    .poll(() => page.getByTestId("session-state").textContent(), { timeout: 30_000 })
    .toContain("connected end to end");
}

/**
 * Waits for `done`, answering the step-up prompt ("Confirm it's you") with `password` if the
 * console asks for one on the way.
 */
export async function withStepUp(
  page: Page,
  password: string,
  done: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
  const start = Date.now();
  let answered = false;
  while (!(await done())) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out (step-up)");
    if (!answered && (await dialog.isVisible().catch(() => false))) {
      answered = true;
      await dialog.getByLabel("Password").fill(password);
      await dialog.getByRole("button", { name: "Confirm" }).click();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The admin (on `admin`, signed in with `adminPassword`) invites `email` with a console role;
 * the colleague signs up on `colleague` (their own tab or profile) and lands on /instances.
 * Returns the key card their page shows.
 */
export async function inviteColleague(
  admin: Page,
  adminPassword: string,
  colleague: Page,
  who: { email: string; password: string; role: "viewer" | "auditor" | "operator" | "admin" },
): Promise<string> {
  await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users and roles" }).click();
  await admin.waitForURL("**/users");
  await admin.getByLabel("E-mail (optional)").fill(who.email);
  await admin.getByLabel("Role", { exact: true }).selectOption(who.role);
  await admin.getByRole("button", { name: "Create invitation" }).click();
  const link = admin.getByTestId("invite-link");
  await withStepUp(admin, adminPassword, async () => (await link.count()) > 0);
  await colleague.goto((await link.textContent()) ?? "");
  await colleague.getByLabel("E-mail").fill(who.email);
  await colleague.getByLabel("Password", { exact: true }).fill(who.password);
  await colleague.getByLabel("Repeat the password").fill(who.password);
  await colleague.getByLabel("Make a printable recovery kit").uncheck();
  await expect
    .poll(() => colleague.getByTestId("password-verdict").textContent(), { timeout: 15_000 })
    .toMatch(/strong/i);
  await colleague.getByRole("button", { name: "Create account" }).click();
  await colleague.waitForURL("**/account", { timeout: 60_000 });
  await colleague.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
  await colleague.waitForURL("**/instances");
  return (await colleague.getByTestId("key-card").textContent()) ?? "";
}

/** On the instance page, the admin's browser signs a grant of `role` for a pasted key card. */
export async function grantFromCard(
  admin: Page,
  adminPassword: string,
  target: { consoleUrl: string; instanceId: string; card: string; email: string; role: string },
): Promise<void> {
  await admin.goto(`${target.consoleUrl}/instances/${target.instanceId}`);
  await admin.getByLabel("Their key card").fill(target.card);
  await admin.getByLabel("Role", { exact: true }).selectOption(target.role);
  await admin.getByRole("button", { name: "Sign and grant" }).click();
  await withStepUp(
    admin,
    adminPassword,
    async () => (await admin.getByTestId("grants").textContent())?.includes(target.email) ?? false,
  );
}

/**
 * A member's first visit to an instance in this browser profile: the page shows the signer's
 * safety code and waits. Checks it is `expected` (what the admin reads out) and confirms.
 */
export async function confirmSigner(page: Page, expected: string): Promise<void> {
  const code = page.getByTestId("unconfirmed-signer-code");
  await code.waitFor({ timeout: 30_000 });
  expect(await code.textContent()).toBe(expected);
  // Nothing end to end before the confirmation.
  expect(await page.getByTestId("session-state").count()).toBe(0);
  await page.getByRole("button", { name: "The codes match: trust this signer" }).click();
}
