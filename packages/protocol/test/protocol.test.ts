import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ERROR_TABLE,
  parseOrThrow,
  PROTOCOL_VERSION,
  VeilError,
  ZBrowserSocketAuthSchema,
  ZEmailSchema,
  ZErrorBodySchema,
  ZIdSchema,
  ZKdfParamsSchema,
  ZRelayFrameSchema,
  zB64u,
} from "../src/index";

const b64 = (n: number): string => Buffer.alloc(n, 7).toString("base64url");

describe("error table", () => {
  it("maps every code to an HTTP status, a retryable flag and a user-safe message", () => {
    for (const [code, entry] of Object.entries(ERROR_TABLE)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.message.length, code).toBeGreaterThan(0);
    }
  });

  it("serialises the code and message but never the internal detail", () => {
    const err = new VeilError("invalid_credentials", { detail: "user 42 auth hash mismatch" });
    const body = err.toBody();
    expect(ZErrorBodySchema.parse(body)).toEqual(body);
    expect(JSON.stringify(body)).not.toContain("42");
    expect(err.status).toBe(401);
  });
});

describe("parseOrThrow", () => {
  it("names the failing field without echoing the input", () => {
    const secret = "hunter2-secret-value";
    try {
      parseOrThrow(z.object({ email: ZEmailSchema }), { email: secret });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(VeilError);
      const body = (e as VeilError).toBody();
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.issues?.[0]?.path).toBe("email");
      expect(JSON.stringify(body)).not.toContain(secret);
    }
  });
});

describe("field schemas", () => {
  it("take an id in one spelling only, lower case", () => {
    const id = "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e";
    expect(ZIdSchema.safeParse(id).success).toBe(true);
    expect(ZIdSchema.safeParse(id.toUpperCase()).error?.issues[0]?.message).toBe("expected a lower-case UUID");
    expect(ZIdSchema.safeParse("3f0c2a4e-8a43-4c1e-9d4b-6F1a2b3c4d5e").success).toBe(false);
  });

  it("normalises e-mail addresses", () => {
    expect(ZEmailSchema.parse("  Alice@Example.COM ")).toBe("alice@example.com");
    expect(ZEmailSchema.safeParse("a".repeat(250) + "@x.io").success).toBe(false);
  });

  it("pins fixed-size base64url values and caps variable ones", () => {
    expect(zB64u({ bytes: 32 }).safeParse(b64(32)).success).toBe(true);
    expect(zB64u({ bytes: 32 }).safeParse(b64(31)).success).toBe(false);
    expect(zB64u({ bytes: 32 }).safeParse(b64(33)).success).toBe(false);
    expect(zB64u().safeParse("a+b/").success).toBe(false);
    expect(zB64u({ maxBytes: 10 }).safeParse(b64(11)).success).toBe(false);
  });

  it("bounds KDF parameters in shape", () => {
    const ok = { alg: "argon2id", memoryKiB: 65536, iterations: 3, parallelism: 1, salt: b64(16) };
    expect(ZKdfParamsSchema.parse(ok)).toEqual(ok);
    expect(ZKdfParamsSchema.safeParse({ ...ok, alg: "pbkdf2" }).success).toBe(false);
    expect(ZKdfParamsSchema.safeParse({ ...ok, memoryKiB: 1.5 }).success).toBe(false);
    expect(ZKdfParamsSchema.safeParse({ ...ok, salt: b64(8) }).success).toBe(false);
  });
});

describe("socket schemas", () => {
  it("accepts the current protocol version and refuses others", () => {
    const auth = { token: b64(32), protocolVersion: PROTOCOL_VERSION };
    expect(ZBrowserSocketAuthSchema.parse(auth)).toEqual(auth);
    expect(ZBrowserSocketAuthSchema.safeParse({ ...auth, protocolVersion: PROTOCOL_VERSION + 1 }).success).toBe(false);
    expect(ZBrowserSocketAuthSchema.safeParse({ ...auth, token: "short" }).success).toBe(false);
  });

  it("caps relayed frames", () => {
    const frame = { instanceId: crypto.randomUUID(), sessionId: b64(16), kind: "transport", frame: b64(1000) };
    expect(ZRelayFrameSchema.parse(frame)).toEqual(frame);
    expect(ZRelayFrameSchema.safeParse({ ...frame, frame: b64(70_000) }).success).toBe(false);
    expect(ZRelayFrameSchema.safeParse({ ...frame, kind: "other" }).success).toBe(false);
  });
});
