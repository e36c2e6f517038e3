/**
 * The companion's own TLS identity for the device channel: a self-signed EC P-256 certificate
 * (ECDSA-SHA256, X.509 v3 assembled as DER with node:crypto, RFC 5280 §4.1 — the same
 * construction as apps/simulator/src/certificates.ts), made once and kept in the state folder
 * (device-channel-tls.json, 0600). Devices pin the SHA-256 of its DER, which the site key
 * carries, so no CA is involved.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { checkSecretFile } from "../state/check-permissions";
import { writeSecretFile } from "../state/write-secret-file";

/** PEM key and certificate plus the SHA-256 (hex) of the certificate's DER. */
export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

const ZTlsFileSchema = z.strictObject({
  version: z.literal(1),
  keyPem: z.string().max(8192),
  certPem: z.string().max(8192),
});
/** File name in the state folder. */
export const DEVICE_TLS_FILE = "device-channel-tls.json";

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>>= 8) bytes.unshift(v & 0xff);
  return Buffer.of(0x80 | bytes.length, ...bytes);
}
const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), len(body.length), body]);
};
const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  const p = (n: number): string => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, "ascii"));
}

const name = (cn: string): Buffer =>
  seq(tlv(0x31, seq(oid("2.5.4.3"), tlv(0x0c, Buffer.from(cn.slice(0, 64), "utf8")))));
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

/** Makes a self-signed certificate valid ten years (devices pin it; renewal = roll the site key). */
export function makeTlsIdentity(commonName: string, now = Date.now()): TlsIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const extensions = tlv(0xa3, seq(seq(oid("2.5.29.19"), tlv(0x04, seq()))));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.of(2))),
    tlv(0x02, Buffer.concat([Buffer.of(0x01), randomBytes(8)])),
    ECDSA_SHA256,
    name(commonName),
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 10 * 365 * 86_400_000))),
    name(commonName),
    publicKey.export({ type: "spki", format: "der" }),
    extensions,
  );
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.of(0), sign("sha256", tbs, privateKey)));
  const b64 = (der.toString("base64").match(/.{1,64}/g) ?? []).join("\n");
  return {
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    fingerprint: createHash("sha256").update(der).digest("hex"),
  };
}

/** Loads the identity from the state folder, making and saving it (0600) on first use. */
export function loadOrCreateTlsIdentity(stateDir: string): TlsIdentity {
  const path = join(stateDir, DEVICE_TLS_FILE);
  if (checkSecretFile(path)) {
    const parsed = ZTlsFileSchema.parse(JSON.parse(readFileSync(path, "utf8")));
    const cert = new X509Certificate(parsed.certPem);
    return {
      keyPem: parsed.keyPem,
      certPem: parsed.certPem,
      fingerprint: createHash("sha256").update(cert.raw).digest("hex"),
    };
  }
  const id = makeTlsIdentity("veil-companion-devices");
  writeSecretFile(path, JSON.stringify({ version: 1, keyPem: id.keyPem, certPem: id.certPem }));
  return id;
}
