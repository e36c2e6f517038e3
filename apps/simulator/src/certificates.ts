/**
 * Self-signed TLS certificates (EC P-256, ECDSA-SHA256) for the devices' HTTPS management API,
 * assembled as DER with node:crypto alone (RFC 5280 §4.1). @peculiar/x509 2.x needs a
 * reflect-metadata polyfill at import (tsyringe) that this package does not depend on, and a
 * hand-built X.509 v3 certificate is ~60 lines and ~1 ms. Tests parse the result with
 * node's X509Certificate and connect to it.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

/** PEM key and certificate plus the SHA-256 fingerprint (hex) of the certificate's DER. */
export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

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

/** Makes a fresh self-signed certificate for `commonName` with `ips` as IP SANs, valid 5 years. */
export function makeCertificate(commonName: string, ips: string[]): Promise<TlsIdentity> {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const now = Date.now();
  const sans = seq(...ips.map((ip) => tlv(0x87, Buffer.from(ip.split(".").map(Number)))));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid("2.5.29.19"), tlv(0x04, seq())), // basicConstraints: not a CA
      seq(oid("2.5.29.17"), tlv(0x04, sans)), // subjectAltName
    ),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.of(2))), // version v3
    tlv(0x02, Buffer.concat([Buffer.of(0x01), randomBytes(8)])), // positive serial
    ECDSA_SHA256,
    name(commonName),
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 5 * 365 * 86_400_000))),
    name(commonName),
    publicKey.export({ type: "spki", format: "der" }),
    extensions,
  );
  const signature = sign("sha256", tbs, privateKey);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.of(0), signature));
  const b64 = (der.toString("base64").match(/.{1,64}/g) ?? []).join("\n");
  return Promise.resolve({
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    fingerprint: createHash("sha256").update(der).digest("hex"),
  });
}
