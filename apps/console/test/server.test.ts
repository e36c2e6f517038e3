import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http";
import { startTestConsole, type TestConsole } from "./helpers/console";

/** Exactly these security headers, on every HTTPS answer (values checked below). */
const EXPECTED = {
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "x-frame-options": "DENY",
};

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>, noStore = true): string {
  for (const [k, v] of Object.entries(EXPECTED)) expect(headers[k], k).toBe(v);
  expect(headers["permissions-policy"]).toMatch(/camera=\(\)/);
  const csp = String(headers["content-security-policy"]);
  const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)' 'strict-dynamic' 'wasm-unsafe-eval'/.exec(csp)?.[1];
  expect(nonce, csp).toBeDefined();
  expect(csp).not.toMatch(/(^|\s)'unsafe-eval'/);
  expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
  for (const d of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) expect(csp).toContain(d);
  if (noStore) expect(headers["cache-control"]).toBe("no-store");
  for (const name of Object.keys(headers)) {
    expect(name).not.toMatch(/^x-nextjs/);
    expect(name).not.toBe("x-powered-by");
  }
  return nonce ?? "";
}

describe("HTTPS server with the Next.js UI (PGlite)", () => {
  let c: TestConsole;
  beforeAll(async () => {
    const { existsSync } = await import("node:fs");
    if (!existsSync(new URL("../.next/BUILD_ID", import.meta.url)))
      throw new Error(
        "No Next.js build in apps/console/.next: run `pnpm --filter @veil/console build` (the test global setup tried and failed)",
      );
    c = await startTestConsole({ ui: true });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it("serves the app shell with a per-request CSP nonce on every script", async () => {
    const a = await c.api("/");
    const b = await c.api("/");
    expect(a.status).toBe(200);
    const nonceA = expectSecurityHeaders(a.headers);
    const nonceB = expectSecurityHeaders(b.headers);
    expect(nonceA).not.toBe(nonceB);
    const scripts = [...a.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) expect(s).toContain(`nonce="${nonceA}"`);
    expect(a.text).toContain("Veil console");
  });

  it("sets the same headers on API answers, 404 pages and errors", async () => {
    for (const path of ["/api/health", "/api/nope", "/does-not-exist"]) {
      const r = await c.api(path);
      expectSecurityHeaders(r.headers);
    }
    const r = await c.api("/api/auth/login", { rawBody: "{", headers: { "content-type": "application/json" } });
    expect(r.status).toBe(400);
    expectSecurityHeaders(r.headers);
  });

  it("ignores client-supplied nonce and CSP request headers", async () => {
    const r = await c.api("/", {
      headers: { "x-nonce": "attacker", "content-security-policy": "script-src 'nonce-attacker'" },
    });
    expect(r.text).not.toContain('nonce="attacker"');
  });

  it("lets static assets be cached but still sends the security headers", async () => {
    const page = await c.api("/");
    const asset = /src="(\/_next\/static\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(asset).toBeDefined();
    const r = await c.api(asset ?? "");
    expect(r.status).toBe(200);
    expectSecurityHeaders(r.headers, false);
    expect(r.headers["cache-control"]).toMatch(/immutable/);
  });

  it("plain HTTP: redirects browser GET/HEAD to HTTPS, refuses API and socket.io", async () => {
    const port = c.running.httpPort ?? 0;
    const get = await call(port, "/settings?tab=2", { plain: true });
    expect(get.status).toBe(308);
    expect(get.headers.location).toBe(`https://localhost:${c.running.httpsPort}/settings?tab=2`);
    const head = await call(port, "/", { plain: true, method: "HEAD" });
    expect(head.status).toBe(308);
    for (const path of ["/api/health", "/api/auth/login", "/socket.io/?EIO=4&transport=polling"]) {
      const r = await call(port, path, { plain: true });
      expect(r.status, path).toBe(403);
      expect(r.headers.location).toBeUndefined();
      expect(r.json).toMatchObject({ error: { code: "https_required" } });
    }
    const post = await call(port, "/api/auth/login", { plain: true, body: { email: "a@b.c", authKey: "x" } });
    expect(post.status).toBe(403);
    const postPage = await call(port, "/", { plain: true, method: "POST", rawBody: "x" });
    expect(postPage.status).toBe(403);
    const acmeMiss = await call(port, "/.well-known/acme-challenge/unknown-token", { plain: true });
    expect(acmeMiss.status).toBe(404);
  });

  it("speaks TLS 1.2+ only, with forward-secret suites", async () => {
    const port = c.running.httpsPort;
    const attempt = (opts: Record<string, unknown>) =>
      new Promise<{ ok: boolean; protocol?: string | null; cipher?: string }>((resolve) => {
        const s = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false, ...opts });
        s.once("secureConnect", () => {
          resolve({ ok: true, protocol: s.getProtocol(), cipher: s.getCipher().name });
          s.end();
        });
        s.once("error", () => resolve({ ok: false }));
      });
    const modern = await attempt({});
    expect(modern).toMatchObject({ ok: true, protocol: "TLSv1.3" });
    expect((await attempt({ maxVersion: "TLSv1.1", minVersion: "TLSv1" })).ok).toBe(false);
    expect((await attempt({ maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256:AES256-GCM-SHA384" })).ok).toBe(false);
    const tls12 = await attempt({ maxVersion: "TLSv1.2" });
    expect(tls12.ok).toBe(true);
    expect(tls12.cipher).toMatch(/^ECDHE-/);
  });

  it("uses a self-signed EC P-256 certificate kept in the data folder", async () => {
    const { X509Certificate } = await import("node:crypto");
    const { statSync } = await import("node:fs");
    const cert = new X509Certificate(c.running.certificate.certPem);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(c.running.certificate.source).toBe("self-signed");
    expect(c.running.certificate.spkiPin).toMatch(/^sha256\/\/[A-Za-z0-9+/]{43}=$/);
    expect(c.running.certificate.fingerprint256).toBe(cert.fingerprint256);
    expect(statSync(`${c.dataDir}/tls/self-signed.key`).mode & 0o777).toBe(0o600);
  });
});
