import { createHash, createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { certificateFingerprint, createSelfSignedCertificate, spkiPin } from "../src/index";

const DAY = 86_400_000;

describe("createSelfSignedCertificate", () => {
  it("makes an EC P-256 ECDSA-SHA-256 leaf with SANs, serverAuth and a key that matches", async () => {
    const made = await createSelfSignedCertificate({
      commonName: "device-1.local",
      dnsNames: ["device-1.local", "localhost"],
      ipAddresses: ["192.168.1.20", "::1"],
    });
    const cert = new X509Certificate(made.certPem);
    expect(made.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    expect(made.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    expect(Buffer.from(made.certDer).equals(cert.raw)).toBe(true);
    expect(cert.subject).toBe("CN=device-1.local");
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(false);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.subjectAltName).toContain("DNS:device-1.local");
    expect(cert.subjectAltName).toContain("DNS:localhost");
    expect(cert.subjectAltName).toContain("IP Address:192.168.1.20");
    expect(cert.subjectAltName).toContain("IP Address:0:0:0:0:0:0:0:1");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(cert.checkHost("device-1.local")).toBe("device-1.local");
    expect(cert.checkIP("192.168.1.20")).toBe("192.168.1.20");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(made.keyPem))).toBe(true);
    expect(Number.parseInt(cert.serialNumber.slice(0, 1), 16)).toBeLessThan(8);
  });

  it("carries a subjectKeyIdentifier and no CA flag (checked on the DER)", async () => {
    const { certDer } = await createSelfSignedCertificate({ commonName: "x" });
    const der = Buffer.from(certDer);
    // id-ce-subjectKeyIdentifier 2.5.29.14 and id-ce-basicConstraints 2.5.29.19 OIDs.
    expect(der.includes(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]))).toBe(true);
    expect(der.includes(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x13]))).toBe(true);
    // ecdsa-with-SHA256 1.2.840.10045.4.3.2.
    expect(der.includes(Buffer.from("06082a8648ce3d040302", "hex"))).toBe(true);
    // No SAN extension (2.5.29.17) when no names were given.
    expect(der.includes(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]))).toBe(false);
  });

  it("is valid from now (less the backdate) for validDays", async () => {
    const now = Date.UTC(2030, 0, 15, 12, 0, 0);
    const cert = new X509Certificate(
      (await createSelfSignedCertificate({ commonName: "v", validDays: 10, now: new Date(now) })).certPem,
    );
    expect(new Date(cert.validFrom).getTime()).toBe(now - 3_600_000);
    expect(new Date(cert.validTo).getTime()).toBe(now + 10 * DAY);
    const noBackdate = new X509Certificate(
      (await createSelfSignedCertificate({ commonName: "v", validDays: 1, now, backdateMs: 0 })).certPem,
    );
    expect(new Date(noBackdate.validFrom).getTime()).toBe(now);
    expect(new Date(noBackdate.validTo).getTime()).toBe(now + DAY);
  });

  it("defaults to 825 days from the current time", async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const cert = new X509Certificate((await createSelfSignedCertificate({ commonName: "d" })).certPem);
    const after = Date.now();
    const validTo = new Date(cert.validTo).getTime();
    expect(validTo).toBeGreaterThanOrEqual(before + 825 * DAY);
    expect(validTo).toBeLessThanOrEqual(after + 825 * DAY);
  });

  it("truncates an over-long common name and makes a new key every time", async () => {
    const a = await createSelfSignedCertificate({ commonName: "n".repeat(100) });
    const b = await createSelfSignedCertificate({ commonName: "n" });
    expect(new X509Certificate(a.certPem).subject).toBe(`CN=${"n".repeat(64)}`);
    expect(spkiPin(a.certPem)).not.toBe(spkiPin(b.certPem));
    expect(new X509Certificate(a.certPem).serialNumber).not.toBe(new X509Certificate(b.certPem).serialNumber);
  });

  it("rejects a bad validity", async () => {
    await expect(createSelfSignedCertificate({ commonName: "x", validDays: 0 })).rejects.toThrow(RangeError);
    await expect(createSelfSignedCertificate({ commonName: "x", now: Number.NaN })).rejects.toThrow(RangeError);
  });
});

describe("certificateFingerprint and spkiPin", () => {
  it("match node:crypto computed independently, from PEM or DER", async () => {
    const made = await createSelfSignedCertificate({ commonName: "fp", ipAddresses: ["127.0.0.1"] });
    const cert = new X509Certificate(made.certPem);
    const hex = createHash("sha256").update(cert.raw).digest("hex");
    expect(certificateFingerprint(made.certPem)).toBe(hex);
    expect(certificateFingerprint(made.certDer)).toBe(hex);
    expect(certificateFingerprint(made.certPem, "colon-hex")).toBe(cert.fingerprint256);

    const spki = createPublicKey(made.keyPem).export({ type: "spki", format: "der" });
    const pin = `sha256//${createHash("sha256").update(spki).digest("base64")}`;
    expect(spkiPin(made.certPem)).toBe(pin);
    expect(spkiPin(made.certDer)).toBe(pin);
    expect(spkiPin(cert)).toBe(pin);
    expect(certificateFingerprint(cert)).toBe(hex);
    expect(pin).toMatch(/^sha256\/\/[A-Za-z0-9+/]{43}=$/);
  });

  it("read a DER view into a larger buffer correctly", async () => {
    const made = await createSelfSignedCertificate({ commonName: "view" });
    const padded = new Uint8Array(made.certDer.length + 8);
    padded.set(made.certDer, 4);
    const view = padded.subarray(4, 4 + made.certDer.length);
    expect(certificateFingerprint(view)).toBe(certificateFingerprint(made.certDer));
    expect(spkiPin(view)).toBe(spkiPin(made.certDer));
  });

  it("throw on something that is not a certificate", () => {
    expect(() => certificateFingerprint("not a certificate")).toThrow();
    expect(() => spkiPin(new Uint8Array([0x30, 0x00]))).toThrow();
  });
});
