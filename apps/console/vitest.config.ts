import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "console",
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Each file starts at most one real server; files run in separate processes.
    pool: "forks",
  },
});
