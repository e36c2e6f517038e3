import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "../src/env";
import { configFromEnv } from "../src/server/config";
import { RateLimiter } from "../src/server/http/rate-limit";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";

function problems(env: Record<string, string>): string[] {
  try {
    parseEnv(env);
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  return [];
}

describe("env module", () => {
  it("has working defaults", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      VEIL_DATA_DIR: "./.veil-data",
      VEIL_HTTPS_PORT: 8443,
      VEIL_HTTP_PORT: 8080,
      VEIL_TRUSTED_PROXIES: [],
    });
    const config = configFromEnv(env);
    expect(config.informPort).toBeNull();
    expect(config.databaseUrl).toBeNull();
    expect(config.session).toEqual({ idleDefaultSeconds: 3600, maxSeconds: 2_592_000, stepUpSeconds: 300 });
  });

  it("names the variable and what to fix", () => {
    expect(problems({ VEIL_HTTPS_PORT: "99999" }).join()).toMatch(/VEIL_HTTPS_PORT.*65535/);
    expect(problems({ VEIL_HTTPS_PORT: "abc" }).join()).toMatch(/VEIL_HTTPS_PORT/);
    expect(problems({ DATABASE_URL: "mysql://x" }).join()).toMatch(/DATABASE_URL must be a postgres/);
    expect(problems({ VEIL_TLS_CERT: "/a.pem" }).join()).toMatch(/VEIL_TLS_KEY/);
    expect(problems({ VEIL_ACME_DOMAIN: "console.example.com" }).join()).toMatch(/VEIL_ACME_EMAIL/);
    expect(problems({ VEIL_TRUSTED_PROXIES: "10.0.0.0/8, nonsense, 1.2.3.4/40" }).join()).toMatch(
      /"nonsense".*"1\.2\.3\.4\/40"|nonsense/,
    );
    expect(problems({ VEIL_PUBLIC_ORIGIN: "http://console.example.com" }).join()).toMatch(/https:\/\//);
    expect(problems({ VEIL_SESSION_IDLE_SECONDS: "60" }).join()).toMatch(/1800/);
    expect(problems({ VEIL_HTTP_PORT: "8443" }).join()).toMatch(/differ/);
    expect(new EnvError(["x"]).message).toMatch(/Fix the environment variables/);
  });

  it("parses trusted proxies and the public origin", () => {
    const env = parseEnv({
      VEIL_TRUSTED_PROXIES: "10.0.0.0/8, 192.168.1.1, ::1",
      VEIL_PUBLIC_ORIGIN: "https://Console.Example.com/some/path",
    });
    expect(env.VEIL_TRUSTED_PROXIES).toEqual(["10.0.0.0/8", "192.168.1.1/32", "::1/128"]);
    expect(env.VEIL_PUBLIC_ORIGIN).toBe("https://console.example.com");
  });
});

describe("rate limiter", () => {
  it("counts per IP and per account, reports the tighter window, refuses past the limit", () => {
    let now = 0;
    const rl = new RateLimiter(
      { ...DEFAULT_RATE_LIMITS, login: { perIp: 3, perAccount: 2, windowSeconds: 10 } },
      () => now,
    );
    expect(rl.consume("login", "1.1.1.1", "a")).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
    expect(rl.consume("login", "1.1.1.1", "a")).toMatchObject({ allowed: true, remaining: 0 });
    expect(rl.consume("login", "2.2.2.2", "a")).toMatchObject({
      allowed: false,
      exceeded: "account",
      firstRefusal: true,
    });
    expect(rl.consume("login", "2.2.2.2", "a")).toMatchObject({ allowed: false, firstRefusal: false });
    expect(rl.consume("login", "1.1.1.1", "b")).toMatchObject({ allowed: true });
    expect(rl.consume("login", "1.1.1.1", "c")).toMatchObject({ allowed: false, exceeded: "ip" });
    now = 10_001;
    expect(rl.consume("login", "1.1.1.1", "a")).toMatchObject({ allowed: true, resetSeconds: 10 });
    rl.close();
  });
});
