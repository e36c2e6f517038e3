/**
 * Certificates shared by the console, the companion and the simulator: self-signed TLS
 * certificates built with @peculiar/x509 on node's WebCrypto (EC P-256, ECDSA-SHA-256), and the
 * two ways Veil identifies a certificate — the SHA-256 fingerprint of its DER and the curl-style
 * SPKI pin of its public key. No ASN.1 is assembled by hand here.
 */
// @peculiar/x509 2.x resolves its ASN.1 services through tsyringe, which needs a Reflect
// metadata polyfill loaded first.
import "reflect-metadata";
import { createHash, webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";

/** Parameters of {@link createSelfSignedCertificate}. */
export interface SelfSignedCertificateOptions {
  /** Subject and issuer common name (truncated to the 64 characters X.520 allows). */
  readonly commonName: string;
  /** DNS names for the subjectAltName extension. */
  readonly dnsNames?: readonly string[];
  /** IPv4 or IPv6 addresses for the subjectAltName extension. */
  readonly ipAddresses?: readonly string[];
  /** Validity in days from `now` (default 825). */
  readonly validDays?: number;
  /** Issue time (default the current time); notBefore is `now` minus {@link backdateMs}. */
  readonly now?: Date | number;
  /** How far notBefore is set before `now`, for clock skew between peers (default one hour). */
  readonly backdateMs?: number;
}

/** A freshly made certificate and its private key. */
export interface SelfSignedCertificate {
  /** The certificate, PEM, newline-terminated. */
  readonly certPem: string;
  /** The EC P-256 private key, PKCS#8 PEM, newline-terminated. */
  readonly keyPem: string;
  /** The certificate's DER encoding. */
  readonly certDer: Uint8Array;
}

/** A certificate as PEM text (first certificate of a chain), DER bytes, or already parsed by node. */
export type CertificateInput = string | Uint8Array | X509Certificate;

/** Output form of {@link certificateFingerprint}. */
export type FingerprintFormat = "hex" | "colon-hex";

const DAY_MS = 86_400_000;
const DEFAULT_VALID_DAYS = 825;
const DEFAULT_BACKDATE_MS = 3_600_000;
const MAX_CN_LENGTH = 64;

const crypto = webcrypto as unknown as Crypto;
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.trim()}\n-----END ${label}-----\n`;
}

/** A random positive 128-bit serial number (hex, high bit clear so DER needs no sign byte). */
function serialNumber(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "1");
}

/**
 * Makes a fresh EC P-256 key and a self-signed ECDSA-SHA-256 X.509 v3 leaf certificate for it:
 * basicConstraints cA=false (critical), keyUsage digitalSignature (critical), extendedKeyUsage
 * serverAuth, subjectAltName with the given DNS names and IP addresses (omitted when both are
 * empty), and a subjectKeyIdentifier.
 */
export async function createSelfSignedCertificate(
  options: SelfSignedCertificateOptions,
): Promise<SelfSignedCertificate> {
  const now = options.now === undefined ? Date.now() : new Date(options.now).getTime();
  const validDays = options.validDays ?? DEFAULT_VALID_DAYS;
  if (!Number.isFinite(now)) throw new RangeError("createSelfSignedCertificate: invalid `now`");
  if (!(validDays > 0)) throw new RangeError("createSelfSignedCertificate: `validDays` must be positive");
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const sans: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: [{ CN: [options.commonName.slice(0, MAX_CN_LENGTH)] }],
      notBefore: new Date(now - (options.backdateMs ?? DEFAULT_BACKDATE_MS)),
      notAfter: new Date(now + validDays * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
    certDer: new Uint8Array(cert.rawData),
  };
}

function parse(cert: CertificateInput): X509Certificate {
  if (cert instanceof X509Certificate) return cert;
  return new X509Certificate(
    typeof cert === "string" ? cert : Buffer.from(cert.buffer, cert.byteOffset, cert.byteLength),
  );
}

/**
 * SHA-256 of the certificate's DER. `"hex"` (default): 64 lower-case hex digits, the form the
 * companion's device pins and site keys use. `"colon-hex"`: colon-separated upper-case pairs,
 * the form browsers (and node's `fingerprint256`) show. Throws if `cert` is not a certificate.
 */
export function certificateFingerprint(cert: CertificateInput, format: FingerprintFormat = "hex"): string {
  const hex = createHash("sha256").update(parse(cert).raw).digest("hex");
  return format === "hex" ? hex : (hex.toUpperCase().match(/../g) ?? []).join(":");
}

/**
 * The public-key pin of a certificate: `sha256//` + base64 of the SHA-256 of its DER
 * SubjectPublicKeyInfo, exactly curl's `--pinnedpubkey` form. It survives re-issue with the same
 * key. Throws if `cert` is not a certificate.
 */
export function spkiPin(cert: CertificateInput): string {
  const spki = parse(cert).publicKey.export({ type: "spki", format: "der" });
  return "sha256//" + createHash("sha256").update(spki).digest("base64");
}
