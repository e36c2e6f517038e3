import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Keys the server itself must hold, derived with HKDF from one 32-byte server secret kept in
 * `<dataDir>/secrets/server.key` (0600), or from VEIL_SERVER_SECRET when several nodes must
 * agree. Kept out of the database on purpose: a stolen database alone does not reveal TOTP
 * secrets or let anyone tell real pre-login salts from fake ones.
 */
export class ServerSecrets {
  private readonly preloginKey: Buffer;
  private readonly totpKey: Buffer;

  constructor(master: Uint8Array) {
    if (master.length !== 32) throw new RangeError("server secret must be 32 bytes");
    const derive = (info: string) => Buffer.from(hkdfSync("sha256", master, new Uint8Array(0), info, 32));
    this.preloginKey = derive("veil/v1/server/prelogin-fake");
    this.totpKey = derive("veil/v1/server/totp-at-rest");
  }

  static load(dataDir: string, fromEnv: string | null): ServerSecrets {
    if (fromEnv)
      return new ServerSecrets(
        new Uint8Array(Buffer.from(fromEnv, fromEnv.includes("-") || fromEnv.includes("_") ? "base64url" : "base64")),
      );
    const dir = path.join(dataDir, "secrets");
    const file = path.join(dir, "server.key");
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
    }
    return new ServerSecrets(new Uint8Array(Buffer.from(readFileSync(file, "utf8").trim(), "base64")));
  }

  /** Deterministic per-e-mail bytes for fake pre-login answers: HMAC(key, label ‖ e-mail). */
  fakeSalt(email: string, purpose: "password" | "recovery" = "password"): Uint8Array {
    return new Uint8Array(
      createHmac("sha256", this.preloginKey)
        .update(purpose === "password" ? "salt\0" : "recovery-salt\0")
        .update(email, "utf8")
        .digest()
        .subarray(0, 16),
    );
  }

  /** AES-256-GCM, AAD = "totp\0" ‖ user id; output = nonce(12) ‖ ciphertext ‖ tag(16). */
  sealTotp(userId: string, secret: Uint8Array): Uint8Array {
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.totpKey, nonce);
    c.setAAD(Buffer.from(`totp\0${userId}`));
    return new Uint8Array(Buffer.concat([nonce, c.update(secret), c.final(), c.getAuthTag()]));
  }

  openTotp(userId: string, sealed: Uint8Array): Uint8Array {
    const buf = Buffer.from(sealed);
    const d = createDecipheriv("aes-256-gcm", this.totpKey, buf.subarray(0, 12));
    d.setAAD(Buffer.from(`totp\0${userId}`));
    d.setAuthTag(buf.subarray(buf.length - 16));
    return new Uint8Array(Buffer.concat([d.update(buf.subarray(12, buf.length - 16)), d.final()]));
  }
}
