import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent } from "node:https";
import path from "node:path";
import * as acme from "acme-client";
import type { PemPair } from "./self-signed";
import { describeCertificate } from "./certificate-info";

export interface AcmeOptions {
  readonly domain: string;
  readonly email: string;
  readonly directory: string;
  readonly dataDir: string;
  /** Extra CA to trust for the ACME directory itself (a test CA such as pebble's). */
  readonly caPem?: string;
  /** acme-client's own pre-check fetches http://<domain>/ on port 80; tests on other ports skip it. */
  readonly skipChallengeVerification?: boolean;
  readonly log: (line: string) => void;
}

/** Renew when fewer than this many days remain (Let's Encrypt certificates last 90). */
const RENEW_BEFORE_DAYS = 30;
const CHECK_EVERY_MS = 12 * 3600_000;
const RETRY_AFTER_FAILURE_MS = 3600_000;

/**
 * Built-in ACME (RFC 8555) through acme-client with HTTP-01: the plain-HTTP port answers
 * `/.well-known/acme-challenge/<token>` from `challenges`. The account key, certificate and
 * its key live in `<dataDir>/acme/` (keys 0600). A timer renews 30 days before expiry and hands
 * the new pair to `onRenewed` (which swaps the TLS context without a restart).
 */
export class AcmeManager {
  readonly challenges: Map<string, string> = new Map();
  private timer: NodeJS.Timeout | undefined;
  private readonly dir: string;

  constructor(private readonly options: AcmeOptions) {
    this.dir = path.join(options.dataDir, "acme");
    if (options.caPem) acme.axios.defaults.httpsAgent = new Agent({ ca: options.caPem });
  }

  /** The stored certificate if it is for this domain and not due for renewal. */
  current(): PemPair | null {
    const certFile = path.join(this.dir, "cert.pem");
    const keyFile = path.join(this.dir, "cert.key");
    if (!existsSync(certFile) || !existsSync(keyFile)) return null;
    const certPem = readFileSync(certFile, "utf8");
    const info = describeCertificate(certPem);
    const names = acme.crypto.readCertificateInfo(certPem).domains;
    if (names.commonName !== this.options.domain && !names.altNames.includes(this.options.domain)) return null;
    if (info.notAfter.getTime() - Date.now() < RENEW_BEFORE_DAYS * 86_400_000) return null;
    return { certPem, keyPem: readFileSync(keyFile, "utf8") };
  }

  /** Orders a certificate now (the HTTP port must already be listening). */
  async obtain(): Promise<PemPair> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const accountKeyFile = path.join(this.dir, "account.key");
    let accountKey: string;
    if (existsSync(accountKeyFile)) accountKey = readFileSync(accountKeyFile, "utf8");
    else {
      accountKey = (await acme.crypto.createPrivateEcdsaKey("P-256")).toString();
      writeFileSync(accountKeyFile, accountKey, { mode: 0o600 });
    }
    const client = new acme.Client({ directoryUrl: this.options.directory, accountKey });
    const [key, csr] = await acme.crypto.createCsr(
      { commonName: this.options.domain, altNames: [this.options.domain] },
      await acme.crypto.createPrivateEcdsaKey("P-256"),
    );
    const certPem = await client.auto({
      csr,
      email: this.options.email,
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      skipChallengeVerification: this.options.skipChallengeVerification ?? false,
      challengeCreateFn: (_authz, challenge, keyAuthorization) => {
        this.challenges.set(challenge.token, keyAuthorization);
        return Promise.resolve();
      },
      challengeRemoveFn: (_authz, challenge) => {
        this.challenges.delete(challenge.token);
        return Promise.resolve();
      },
    });
    writeFileSync(path.join(this.dir, "cert.key"), key, { mode: 0o600 });
    writeFileSync(path.join(this.dir, "cert.pem"), certPem, { mode: 0o644 });
    this.options.log(`ACME: certificate for ${this.options.domain} obtained from ${this.options.directory}`);
    return { certPem, keyPem: key.toString() };
  }

  /** Checks twice a day; renews when due and calls `onRenewed`. Retries hourly after a failure. */
  startRenewal(onRenewed: (pair: PemPair) => void, firstDelayMs = CHECK_EVERY_MS): void {
    const schedule = (ms: number) => {
      this.timer = setTimeout(() => void run(), ms);
      this.timer.unref();
    };
    const run = async () => {
      try {
        if (this.current()) return schedule(CHECK_EVERY_MS);
        onRenewed(await this.obtain());
        schedule(CHECK_EVERY_MS);
      } catch (error) {
        this.options.log(
          `ACME: renewal failed (${error instanceof Error ? error.message : String(error)}); retrying in 1 h`,
        );
        schedule(RETRY_AFTER_FAILURE_MS);
      }
    };
    schedule(firstDelayMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
