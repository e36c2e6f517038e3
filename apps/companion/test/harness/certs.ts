import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spkiPinOfPem } from "../../src/transport/spki-pin";

/** A self-signed P-256 certificate for 127.0.0.1 and localhost, with its SPKI pin. */
export interface TestCert {
  key: string;
  cert: string;
  pin: string;
}

/** Makes a fresh self-signed certificate with openssl (EC P-256, SHA-256). */
export function makeSelfSignedCert(cn = "veil-test-console"): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "veil-cert-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-sha256",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-subj",
        `/CN=${cn}`,
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "ignore" },
    );
    const key = readFileSync(join(dir, "key.pem"), "utf8");
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    return { key, cert, pin: spkiPinOfPem(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
