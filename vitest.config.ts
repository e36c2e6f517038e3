import { defineConfig } from "vitest/config";

// One run over every workspace project. Each project has its own vitest.config.ts; the
// browser project runs the crypto suite inside Debian's Chromium.
export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "packages/*/vitest.browser.config.ts",
      "apps/*/vitest.config.ts",
      "tests/vitest.config.ts",
    ],
    reporters: ["default", "./scripts/summary-reporter.ts"],
    // Two cores: keep heavy suites (Argon2id, servers, Chromium) from starving each other.
    maxWorkers: 2,
  },
});
