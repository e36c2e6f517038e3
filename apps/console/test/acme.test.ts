import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateSelfSigned } from "../src/server/tls/self-signed";
import { call } from "./helpers/http";
import { startTestConsole, type TestConsole } from "./helpers/console";

const hasPebble = spawnSync("sh", ["-c", "command -v pebble"]).status === 0;
if (!hasPebble)
  console.warn("[console acme] pebble is not installed (apt-get install -y pebble): the ACME test is skipped");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Built-in ACME HTTP-01 against Debian's pebble test CA, validating through our HTTP port. */
describe.skipIf(!hasPebble)("ACME with pebble", () => {
  let pebble: ChildProcess;
  let dir: string;
  let c: TestConsole;
  let pebbleCa: string;
  let directory: string;
  let httpPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "veil-pebble-"));
    const tls = await loadOrCreateSelfSigned(dir);
    writeFileSync(path.join(dir, "cert.pem"), tls.certPem);
    writeFileSync(path.join(dir, "key.pem"), tls.keyPem);
    pebbleCa = tls.certPem;
    const [listen, management] = [await freePort(), await freePort()];
    httpPort = await freePort();
    writeFileSync(
      path.join(dir, "pebble.json"),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${listen}`,
          managementListenAddress: `127.0.0.1:${management}`,
          certificate: "cert.pem",
          privateKey: "key.pem",
          httpPort,
          tlsPort: await freePort(),
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    pebble = spawn("pebble", ["-config", "pebble.json"], {
      cwd: dir,
      env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
      stdio: "ignore",
    });
    directory = `https://127.0.0.1:${listen}/dir`;
    for (let i = 0; i < 50; i++) {
      const ok = await call(listen, "/dir", { ca: pebbleCa }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    c = await startTestConsole({
      httpPort,
      acme: {
        domain: "localhost",
        email: "ops@example.test",
        directory,
        caPem: pebbleCa,
        skipChallengeVerification: true,
      },
    });
  });
  afterAll(async () => {
    await c?.stop();
    if (pebble?.pid) process.kill(pebble.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it("obtains a certificate through HTTP-01 on the plain-HTTP port and serves it", async () => {
    expect(c.running.certificate.source).toBe("acme");
    expect(c.running.certificate.selfSigned).toBe(false);
    const issuer = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect(
        { host: "127.0.0.1", port: c.running.httpsPort, servername: "localhost", rejectUnauthorized: false },
        () => {
          resolve(JSON.stringify(s.getPeerCertificate().issuer));
          s.end();
        },
      );
      s.once("error", reject);
    });
    expect(issuer).toMatch(/Pebble/);
  });

  it("keeps the certificate and account key in the data folder and reuses them", async () => {
    const { statSync, existsSync } = await import("node:fs");
    for (const f of ["account.key", "cert.key", "cert.pem"])
      expect(existsSync(path.join(c.dataDir, "acme", f)), f).toBe(true);
    expect(statSync(path.join(c.dataDir, "acme", "cert.key")).mode & 0o777).toBe(0o600);
    const { AcmeManager } = await import("../src/server/tls/acme");
    const again = new AcmeManager({
      domain: "localhost",
      email: "ops@example.test",
      directory,
      dataDir: c.dataDir,
      caPem: pebbleCa,
      log: () => undefined,
    });
    expect(again.current()?.certPem).toBe(c.running.certificate.certPem);
  });
});
