import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeEnrollment,
  encodeBase64Url,
  encodeEnrollment,
  EnrollmentStringError,
  MAX_ENROLLMENT_LENGTH,
  type TEnrollment,
} from "../src/protocol";

const sample: TEnrollment = {
  consoleUrl: "https://console.example:8443",
  instanceId: "2b9f8a8e-5d0c-4c1e-9f7a-0b6e3c2d1a00",
  token: encodeBase64Url(new Uint8Array(32).fill(1)),
  signerFingerprint: encodeBase64Url(new Uint8Array(32).fill(2)),
  consolePin: "sha256//" + Buffer.alloc(32, 3).toString("base64"),
};

describe("enrollment string codec", () => {
  it("round-trips and stays one short line", () => {
    const line = encodeEnrollment(sample);
    expect(line.startsWith("veil1_")).toBe(true);
    expect(line).toMatch(/^veil1_[A-Za-z0-9_-]+$/);
    expect(line.length).toBeLessThan(220);
    expect(decodeEnrollment(line)).toEqual(sample);
    expect(decodeEnrollment(` ${line}\n`)).toEqual(sample);
  });

  it("round-trips arbitrary valid contents (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uuid({ version: 4 }),
        fc.integer({ min: 1, max: 65535 }),
        (t, f, p, id, port) => {
          const e: TEnrollment = {
            consoleUrl: `https://h.example:${port}`,
            instanceId: id,
            token: encodeBase64Url(t),
            signerFingerprint: encodeBase64Url(f),
            consolePin: "sha256//" + Buffer.from(p).toString("base64"),
          };
          const url = new URL(e.consoleUrl).origin;
          const expected = { ...e, consoleUrl: url };
          expect(decodeEnrollment(encodeEnrollment(expected))).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("never throws anything but EnrollmentStringError on garbage (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        try {
          decodeEnrollment("veil1_" + s);
        } catch (e) {
          expect(e).toBeInstanceOf(EnrollmentStringError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("refuses every malformed variant without echoing it", () => {
    const line = encodeEnrollment(sample);
    const raw = Buffer.from(line.slice(6), "base64url");
    const variant = (mut: (b: Buffer) => Buffer): string => "veil1_" + mut(Buffer.from(raw)).toString("base64url");
    const bad = [
      line.replace("veil1_", "veil2_"),
      line + "A",
      line.slice(0, -1) + (line.endsWith("A") ? "B" : "A") + "=",
      "veil1_" + "A".repeat(MAX_ENROLLMENT_LENGTH),
      variant((b) => ((b[0] = 2), b)),
      variant((b) => b.subarray(0, b.length - 1)),
      variant((b) => Buffer.concat([b, Buffer.from([0])])),
    ];
    for (const s of bad) {
      let err: unknown;
      try {
        decodeEnrollment(s);
      } catch (e) {
        err = e;
      }
      expect(err, s).toBeInstanceOf(EnrollmentStringError);
      expect((err as Error).message).not.toContain(sample.token);
    }
    for (const consoleUrl of [
      "http://console.example",
      "https://console.example/path",
      "https://u:p@console.example",
      "https://console.example?x=1",
    ]) {
      expect(() => encodeEnrollment({ ...sample, consoleUrl })).toThrow();
    }
  });
});
