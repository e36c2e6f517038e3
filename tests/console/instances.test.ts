// Instances end to end in a real browser: a real console (HTTPS, Next.js UI, API, socket.io
// relay, PGlite) and Debian's Chromium for the admin; the real companion CLI (from source,
// through tsx) in a temporary state folder for the site host. The admin adds an instance in the
// browser, the test takes the enrollment string from the line the page shows, enrolls and runs the
// companion, and then watches it come online, reads its system info end to end, rotates its
// token end to end and revokes it.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateBoxKeyPair, generateIdentityKeyPair, signStatement, toBase64Url } from "@veil/crypto";
import {
  decodeEnrollment,
  INSTANCE_CERTIFICATE_DOMAIN,
  ZGrantCreateRequestSchema,
  ZInstanceCreateRequestSchema,
  ZInstanceResponseSchema,
  type TEnrollment,
  type TInstanceSummary,
} from "@veil/protocol";
import type { Browser, BrowserContext } from "playwright-core";
import { chromiumAvailable } from "../support/chromium.js";
import {
  launchBrowser,
  newContext,
  screenshot,
  startTestConsole,
  unnamedControls,
  watchedPage,
  type TestConsole,
  type WatchedPage,
} from "./harness";
import { companion, confirmSigner, enrollFrom, withStepUp, type Companion } from "./site";

const EMAIL = "ops@example.test";
const PASSWORD = "correct horse battery staple orbit";
const VIEWER = "lin@example.test";
const VIEWER_PASSWORD = "compiler moth harbour seventeen";
/** strace, when installed (Debian's package): runShownLine records every execve with it. */
const STRACE = existsSync("/usr/bin/strace") ? "/usr/bin/strace" : null;

/** What one shown line did, run with stand-ins (see runShownLine). */
interface ShownRun {
  /** sudo's arguments (the temp folder written as $TMPDIR), or null if sudo did not run. */
  sudoArgv: string[] | null;
  /** sudo's environment as it started (what sudo would log with log_format=json), or null. */
  sudoEnv: string | null;
  /** The first line of the installer's stdin, the VEIL_ENROLL it saw, and its arguments. */
  installerStdin: string;
  installerEnroll: string;
  installerArgs: string;
  /** Files the line left in its TMPDIR. */
  leftInTmp: string[];
  /** Every execve of the run with its argv and environment (strace -v), or null without strace. */
  execs: string[] | null;
}

/**
 * Runs a shown install line, typed into a real `sh` on its stdin (so the line itself is in no
 * argv), with stand-ins first on PATH: curl writes (with -o) or prints a script that records what
 * the installer got, and sudo records its argv and environment, skips its options as sudo does,
 * and runs the rest.
 */
function runShownLine(line: string): ShownRun {
  const dir = mkdtempSync(join(tmpdir(), "veil-line-"));
  try {
    const bin = join(dir, "bin");
    const tmp = join(dir, "tmp");
    mkdirSync(bin);
    mkdirSync(tmp);
    const installer = [
      `IFS= read -r l || true`,
      `printf "%s" "$l" > "$VEIL_LINE_OUT/stdin"`,
      `printf "%s" "\${VEIL_ENROLL-}" > "$VEIL_LINE_OUT/enroll"`,
      `printf "%s" "$*" > "$VEIL_LINE_OUT/args"`,
    ].join("; ");
    writeFileSync(
      join(bin, "curl"),
      [
        "#!/bin/sh",
        `script='${installer}'`,
        `out=""`,
        `while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift ;; esac; shift; done`,
        `if [ -n "$out" ]; then printf '%s\\n' "$script" > "$out"; else printf '%s\\n' "$script"; fi`,
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    writeFileSync(
      join(bin, "sudo"),
      [
        "#!/bin/sh",
        `printf '%s\\n' "$@" > "$VEIL_LINE_OUT/sudo-argv"`,
        `cat /proc/$$/environ > "$VEIL_LINE_OUT/sudo-environ"`,
        `while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done`,
        `exec "$@"`,
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const trace = join(dir, "execve.trace");
    const [command, args] = STRACE
      ? [STRACE, ["-f", "-qq", "-v", "--seccomp-bpf", "-e", "trace=execve", "-s", "65536", "-o", trace, "sh"]]
      : ["sh", []];
    execFileSync(command, args, {
      input: `${line}\n`,
      // A minimal environment on purpose; Next's types require NODE_ENV in ProcessEnv.
      env: { NODE_ENV: "test", PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: dir, TMPDIR: tmp, VEIL_LINE_OUT: dir },
      stdio: ["pipe", "ignore", "ignore"],
    });
    const read = (f: string): string | null => {
      try {
        return readFileSync(join(dir, f), "utf8");
      } catch {
        return null;
      }
    };
    const argv = read("sudo-argv");
    return {
      sudoArgv:
        argv === null
          ? null
          : argv
              .split("\n")
              .filter((a) => a !== "")
              .map((a) => a.replace(tmp, "$TMPDIR")),
      sudoEnv: read("sudo-environ"),
      installerStdin: read("stdin") ?? "",
      installerEnroll: read("enroll") ?? "",
      installerArgs: read("args") ?? "",
      leftInTmp: readdirSync(tmp),
      execs: STRACE ? (read("execve.trace") ?? "").split("\n").filter((l) => l.includes("execve(")) : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let consoleServer: TestConsole;
let browser: Browser;
let context: BrowserContext;
let main: WatchedPage;
const stateDirs: string[] = [];
const companions: Companion[] = [];
let running: Companion | undefined;
let instanceId = "";
let firstLine = "";
let firstEnrollment: TEnrollment;

const stateDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "veil-ui-companion-"));
  stateDirs.push(d);
  return d;
};

describe.skipIf(!chromiumAvailable)("instances in Chromium with a real companion", () => {
  beforeAll(async () => {
    [consoleServer, browser] = await Promise.all([startTestConsole(), launchBrowser()]);
    context = await newContext(browser);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: consoleServer.url });
    main = await watchedPage(context);
  });

  afterAll(async () => {
    for (const c of companions) if (c.child.exitCode === null) c.child.kill("SIGTERM");
    await Promise.all(companions.map((c) => Promise.race([c.exit, new Promise((r) => setTimeout(r, 5000))])));
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await consoleServer?.close();
    for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
  });

  test("the admin signs up and adds an instance; the page shows the one-line install command once", async () => {
    const { page } = main;
    await page.goto(`${consoleServer.url}/signup`);
    await page.getByLabel("E-mail").fill(EMAIL);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Repeat the password").fill(PASSWORD);
    await expect.poll(() => page.getByTestId("password-verdict").textContent(), { timeout: 15_000 }).toMatch(/strong/i);
    await page.getByLabel("Make a printable recovery kit").uncheck();
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL("**/account", { timeout: 60_000 }).catch(async (e: unknown) => {
      await screenshot(page, "instances-00-signup-failed");
      throw e;
    });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
    await page.waitForURL("**/instances");
    await page.getByLabel("Instance name").fill("Harbour site");
    expect(await unnamedControls(page)).toEqual([]);
    await page.getByRole("button", { name: "Add instance" }).click();
    const line = page.getByTestId("install-line");
    await line.waitFor({ timeout: 60_000 });
    firstLine = (await line.textContent()) ?? "";
    // The script is saved to a private temp file (mktemp), the string is piped to it by printf (a
    // shell builtin: in no argv), and sudo gets only `sh <file>`: no argument or variable of sudo,
    // which logs both, carries the token. The traps remove the file however the line ends.
    expect(firstLine).toMatch(
      /^\(f=\$\(mktemp\) && trap 'rm -f "\$f"' EXIT && trap 'exit 130' INT HUP TERM && curl -fsSL --proto '=https' --pinnedpubkey 'sha256\/\/[A-Za-z0-9+/]{43}=' -k 'https:\/\/localhost:\d+\/install\.sh' -o "\$f" && printf '%s\\n' 'veil1_[A-Za-z0-9_-]+' \| sudo sh "\$f"\)$/,
    );
    expect(firstLine.slice(firstLine.indexOf("| sudo ") + 2)).toBe('sudo sh "$f")');
    expect(firstLine).not.toMatch(/VEIL_ENROLL|preserve-env|sudo -E/);
    const enrollment = enrollFrom(firstLine);
    const prefixLine = (await page.getByTestId("install-line-prefix").textContent()) ?? "";
    expect(prefixLine).toContain(`sh -s -- --prefix "$HOME/veil-companion"`);
    // The no-root form runs without sudo, so the token can be an environment prefix of sh.
    expect(prefixLine).not.toContain("sudo");
    expect(prefixLine).toMatch(/\| VEIL_ENROLL='veil1_[A-Za-z0-9_-]+' sh -s -- --prefix "\$HOME\/veil-companion"$/);
    expect(enrollFrom(prefixLine)).toBe(enrollment);
    const why = (await page.getByTestId("install-line-why").textContent()) ?? "";
    expect(why).toMatch(/standard input/);
    expect(why).not.toMatch(/preserve-env|stands before/);

    // Run through a real shell: the installer gets the string on stdin; sudo never sees it in its
    // argv or its environment, nor does any process the line starts; the temp file is gone.
    const shown = runShownLine(firstLine);
    expect(shown.sudoArgv).toEqual(["sh", expect.stringMatching(/^\$TMPDIR\/[^/]+$/) as unknown]);
    expect(shown.sudoEnv).not.toBeNull();
    expect(shown.sudoEnv).not.toContain("VEIL_ENROLL");
    expect(shown.sudoEnv).not.toContain(enrollment);
    expect(shown.installerStdin).toBe(enrollment);
    expect(shown.installerEnroll).toBe("");
    expect(shown.installerArgs).toBe("");
    expect(shown.leftInTmp).toEqual([]);
    if (shown.execs) {
      expect(shown.execs.some((l) => l.includes('/sudo"'))).toBe(true);
      expect(shown.execs.filter((l) => l.includes(enrollment)).length).toBe(0);
    }
    const shownPrefix = runShownLine(prefixLine);
    expect(shownPrefix.sudoArgv).toBeNull();
    expect(shownPrefix.installerEnroll).toBe(enrollment);
    expect(shownPrefix.installerArgs).toMatch(/^--prefix \/.+\/veil-companion$/);
    if (shownPrefix.execs) {
      // Only `sh -s` has it, in its environment (same user and root only); no argv anywhere.
      const holding = shownPrefix.execs.filter((l) => l.includes(enrollment));
      expect(holding.map((l) => l.slice(0, l.indexOf("], ["))).filter((argv) => argv.includes(enrollment))).toEqual([]);
      expect(holding.length).toBe(1);
      expect(holding[0]).toMatch(/"sh", "-s", "--", "--prefix"/);
    }
    await expect.poll(() => page.getByTestId("install-panel").textContent()).toContain("shown only now");
    await screenshot(page, "instances-01-install-line");

    // The line is exactly what the console will be asked for: this console, its real key pin.
    firstEnrollment = decodeEnrollment(enrollFrom(firstLine));
    instanceId = firstEnrollment.instanceId;
    expect(firstEnrollment.consoleUrl).toBe(consoleServer.url);

    // What the browser sent: exactly the strict create schema, and never the token.
    const create = main.apiBodies.find((b) => b.path === "/api/instances");
    expect(create).toBeDefined();
    const body = ZInstanceCreateRequestSchema.parse(JSON.parse(create?.body ?? "{}"));
    expect(body.instanceId).toBe(instanceId);
    expect(body.kdf).toMatchObject({ alg: "argon2id", memoryKiB: 65536, iterations: 3, parallelism: 1 });
    // The admin also signed a grant for itself (the companion accepts only signed grants).
    const grant = main.apiBodies.find((b) => b.path === `/api/instances/${instanceId}/grants`);
    expect(ZGrantCreateRequestSchema.parse(JSON.parse(grant?.body ?? "{}")).role).toBe("admin");
    for (const b of main.apiBodies) {
      expect(b.body).not.toContain(firstEnrollment.token);
      expect(b.body).not.toContain("veil1_");
    }
    expect(main.apiCalls.join("\n")).not.toContain(firstEnrollment.token);
    expect(page.url()).not.toContain(firstEnrollment.token);

    // Copy button puts the same line on the clipboard.
    await page.getByRole("button", { name: "Copy command", exact: true }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(firstLine);

    // "Done" drops the line: it is not shown again, not even after a reload.
    await page.getByRole("button", { name: "Done, I have copied it" }).click();
    expect(await page.getByTestId("install-line").count()).toBe(0);
    await page.reload();
    await page.getByTestId("instances").waitFor();
    expect(await page.content()).not.toContain(firstEnrollment.token);
    await expect
      .poll(() => page.locator(`tr[data-instance-id="${instanceId}"] [data-testid="instance-status"]`).textContent())
      .toBe("waiting for enrollment");
  });

  test("the shown enrollment string enrolls a real companion, which comes online in the list", async () => {
    const dir = stateDir();
    const enroll = companion("enroll", dir, { VEIL_ENROLL: enrollFrom(firstLine) });
    companions.push(enroll);
    expect(await enroll.exit, enroll.output()).toBe(0);
    expect(enroll.output()).toContain(`enrolled as ${instanceId}`);
    expect(enroll.output()).not.toContain(firstEnrollment.token);

    running = companion("run", dir);
    companions.push(running);
    const { page } = main;
    const status = page.locator(`tr[data-instance-id="${instanceId}"] [data-testid="instance-status"]`);
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe("online");
    await screenshot(page, "instances-02-online");
  });

  test("the instance page opens an E2E session: round-trip time and system info decrypted in the browser", async () => {
    const { page } = main;
    await page.getByRole("link", { name: "Harbour site" }).first().click();
    await page.waitForURL(`**/instances/${instanceId}`);
    await expect
      .poll(() => page.getByTestId("session-state").textContent(), { timeout: 30_000 })
      .toContain("connected end to end");
    await expect.poll(() => page.getByTestId("rtt").textContent(), { timeout: 15_000 }).toMatch(/^\d+ ms$/);
    await expect.poll(() => page.getByTestId("sys-hostname").textContent(), { timeout: 15_000 }).toBe(hostname());
    expect(await page.getByTestId("sys-companion-version").textContent()).toMatch(/\S/);
    // system.watch: the companion pushes live snapshots over the same session.
    await expect.poll(() => page.getByTestId("sys-live").textContent(), { timeout: 15_000 }).toMatch(/^Live: /);
    // The signer's safety code is the admin's own (the certificate verified in the browser).
    const signer = await page.getByTestId("signer-safety-code").textContent();
    expect(signer).toMatch(/^(\d{5} ){7}\d{5}$/);
    await expect.poll(() => page.getByTestId("grant-signer").first().textContent()).toBe(signer);
    expect(await unnamedControls(page)).toEqual([]);
    // No libsodium error (e2e-channel.ts logs one): its chunk loaded and compiled under the CSP
    // before the session opened, so the session's frames were sealed with it.
    expect(main.errors.filter((e) => e.includes("libsodium"))).toEqual([]);
    await screenshot(page, "instances-03-instance");
  });

  test("rotating the token end to end returns a new line; the old one no longer enrolls; the companion stays online", async () => {
    const { page } = main;
    await page.getByRole("button", { name: "Rotate token" }).click();
    const line = page.getByTestId("install-line");
    await line.waitFor({ timeout: 90_000 });
    const next = enrollFrom((await line.textContent()) ?? "");
    const rotated = decodeEnrollment(next);
    expect(rotated.instanceId).toBe(instanceId);
    expect(rotated.token).not.toBe(firstEnrollment.token);
    expect(rotated.signerFingerprint).toBe(firstEnrollment.signerFingerprint);
    expect(rotated.consolePin).toBe(firstEnrollment.consolePin);
    for (const b of main.apiBodies) expect(b.body).not.toContain(rotated.token);
    await screenshot(page, "instances-04-rotated");
    await page.getByRole("button", { name: "Done, I have copied it" }).click();

    // The session survives the rotation (the console keeps the companion's socket).
    const before = await page.getByTestId("rtt").textContent();
    await expect
      .poll(() => page.getByTestId("session-state").textContent(), { timeout: 15_000 })
      .toContain("connected end to end");
    expect(before).toMatch(/^\d+ ms$/);

    // The old line is refused by the console now.
    const stale = companion("enroll", stateDir(), { VEIL_ENROLL: enrollFrom(firstLine) });
    companions.push(stale);
    expect(await stale.exit).not.toBe(0);
    expect(stale.output()).toMatch(/unauthenticated|refused the token/);
  });

  test("the admin grants a viewer role from a key card; the viewer's own browser opens a session, reads system info, cannot rotate", async () => {
    const { page } = main;
    // Invite a colleague (console role viewer) and let them sign up in another tab.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users and roles" }).click();
    await page.waitForURL("**/users");
    await page.getByLabel("E-mail (optional)").fill(VIEWER);
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await page.getByRole("button", { name: "Create invitation" }).click();
    const link = page.getByTestId("invite-link");
    await withStepUp(page, PASSWORD, async () => (await link.count()) > 0);
    const inviteUrl = (await link.textContent()) ?? "";

    // Their own browser profile: nothing this browser trusted for the admin carries over.
    const viewerContext = await newContext(browser);
    const viewer = await watchedPage(viewerContext);
    await viewer.page.goto(inviteUrl);
    await viewer.page.getByLabel("E-mail").fill(VIEWER);
    await viewer.page.getByLabel("Password", { exact: true }).fill(VIEWER_PASSWORD);
    await viewer.page.getByLabel("Repeat the password").fill(VIEWER_PASSWORD);
    await viewer.page.getByLabel("Make a printable recovery kit").uncheck();
    await expect
      .poll(() => viewer.page.getByTestId("password-verdict").textContent(), { timeout: 15_000 })
      .toMatch(/strong/i);
    await viewer.page.getByRole("button", { name: "Create account" }).click();
    await viewer.page.waitForURL("**/account", { timeout: 60_000 });
    await viewer.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
    await viewer.page.waitForURL("**/instances");
    await expect.poll(() => viewer.page.getByText("No instance has been shared with you yet").count()).toBe(1);
    const card = (await viewer.page.getByTestId("key-card").textContent()) ?? "";
    const viewerCode = (await viewer.page.getByTestId("my-safety-code").textContent()) ?? "";
    expect(card).toMatch(/^veilkey1_[A-Za-z0-9_-]+$/);

    // The admin pastes the card on the instance page; the browser shows the card's safety code and signs.
    await page.goto(`${consoleServer.url}/instances/${instanceId}`);
    await page.getByLabel("Their key card").fill(card);
    await expect.poll(() => page.getByTestId("grant-card-safety").textContent()).toBe(viewerCode);
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await page.getByRole("button", { name: "Sign and grant" }).click();
    await withStepUp(page, PASSWORD, async () => (await page.getByTestId("grants").locator("tbody tr").count()) === 2);
    await expect.poll(() => page.getByTestId("grants").textContent()).toContain(VIEWER);

    // The viewer's browser: the instance is listed, the session opens with the stored grant.
    await viewer.page.reload();
    await viewer.page.getByRole("link", { name: "Harbour site" }).first().click();
    await viewer.page.waitForURL(`**/instances/${instanceId}`);
    // First visit in this profile: the viewer compares the signer's code with the admin's own.
    await confirmSigner(viewer.page, (await page.getByTestId("signer-safety-code").textContent()) ?? "");
    await expect
      .poll(() => viewer.page.getByTestId("session-state").textContent(), { timeout: 30_000 })
      .toContain("connected end to end");
    await expect
      .poll(() => viewer.page.getByTestId("sys-hostname").textContent(), { timeout: 15_000 })
      .toBe(hostname());
    await expect.poll(() => viewer.page.getByTestId("rtt").textContent(), { timeout: 15_000 }).toMatch(/^\d+ ms$/);
    expect(await viewer.page.getByRole("button", { name: "Rotate token" }).count()).toBe(0);
    expect(await viewer.page.getByRole("button", { name: "Revoke instance" }).count()).toBe(0);
    expect(await viewer.page.getByTestId("signer-safety-code").textContent()).toBe(
      await page.getByTestId("signer-safety-code").textContent(),
    );
    await screenshot(viewer.page, "instances-05-viewer");
    expect(viewer.errors).toEqual([]);
    await viewerContext.close();
  });

  test("a console that swaps the instance's keys or forges its certificate is caught by the browser: no handshake is sent", async () => {
    const { page } = main;
    await page.goto(`${consoleServer.url}/instances/${instanceId}`);
    await expect
      .poll(() => page.getByTestId("session-state").textContent(), { timeout: 30_000 })
      .toContain("connected end to end");
    const attackerIdentity = generateIdentityKeyPair();
    const attackerBox = toBase64Url(generateBoxKeyPair().publicKey);
    const attacks: Record<string, (i: TInstanceSummary) => TInstanceSummary> = {
      // The console's own box key in the listing: the certificate no longer matches it.
      "swapped box key": (i) => ({ ...i, boxPublicKey: attackerBox }),
      // The console's box key in the listing and in the certificate's body, the admin's signature
      // kept: only the signature check stands in its way.
      "rewritten certificate": (i) => {
        const statement = i.certificate.statement as { body: Record<string, unknown> };
        return {
          ...i,
          boxPublicKey: attackerBox,
          certificate: {
            ...i.certificate,
            statement: {
              ...i.certificate.statement,
              body: { ...statement.body, boxPublicKey: attackerBox },
            } as TInstanceSummary["certificate"]["statement"],
          },
        };
      },
      // A whole new certificate, validly signed — by a key the console holds, not the admin's.
      "forged certificate": (i) => {
        const body = {
          instanceId: i.id,
          name: i.name,
          identityPublicKey: i.identityPublicKey,
          boxPublicKey: attackerBox,
          issuedAt: Date.now(),
        };
        const statement = signStatement(INSTANCE_CERTIFICATE_DOMAIN, body, attackerIdentity.privateKey);
        return {
          ...i,
          boxPublicKey: attackerBox,
          certificate: {
            statement: statement as TInstanceSummary["certificate"]["statement"],
            signerPublicKey: toBase64Url(attackerIdentity.publicKey),
          },
        };
      },
    };
    for (const [name, rewrite] of Object.entries(attacks)) {
      const pattern = `**/api/instances/${instanceId}`;
      await page.route(pattern, async (route) => {
        const res = await route.fetch();
        const json = ZInstanceResponseSchema.parse(await res.json());
        await route.fulfill({ response: res, json: { instance: rewrite(json.instance) } });
      });
      const framesSent: string[] = [];
      page.on("websocket", (ws) => ws.on("framesent", (f) => framesSent.push(String(f.payload))));
      await page.reload();
      await expect
        .poll(
          () =>
            page
              .getByRole("alert")
              .filter({
                hasText:
                  name === "rewritten certificate" ? /could not be verified \(signature\)/ : /could not be verified/,
              })
              .count(),
          { timeout: 15_000 },
        )
        .toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 2000));
      expect(
        framesSent.filter((f) => f.includes("e2e:frame")),
        name,
      ).toEqual([]);
      expect(await page.getByTestId("session-state").count(), name).toBe(0);
      await screenshot(page, `instances-06-${name.replace(/ /g, "-")}`);
      await page.unroute(pattern);
    }
    // Control: the genuine answer opens the session again.
    await page.reload();
    await expect
      .poll(() => page.getByTestId("session-state").textContent(), { timeout: 30_000 })
      .toContain("connected end to end");
  });

  test("revoking disconnects the companion for good and the page shows it offline", async () => {
    const { page } = main;
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Revoke instance" }).click();
    const badge = page.getByTestId("instance-status").first();
    await withStepUp(page, PASSWORD, async () => (await page.getByTestId("revoked-at").count()) > 0, 60_000);
    expect(await badge.textContent()).toBe("revoked");
    const exit = await Promise.race([
      running?.exit,
      new Promise<"still running">((r) => setTimeout(() => r("still running"), 10_000)),
    ]);
    expect(exit, running?.output()).toBe(3);
    await expect.poll(() => page.getByTestId("session-state").textContent(), { timeout: 15_000 }).toContain("Revoked");
    await screenshot(page, "instances-07-revoked");

    await page.getByRole("link", { name: "← Instances" }).click();
    const status = page.locator(`tr[data-instance-id="${instanceId}"] [data-testid="instance-status"]`);
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toBe("revoked");
    expect(main.errors.filter((e) => !e.includes("status of 4"))).toEqual([]);
  });
});
