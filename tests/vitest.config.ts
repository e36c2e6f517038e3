import { defineConfig } from "vitest/config";

// Cross-part tests: real Chromium, real servers on 127.0.0.1:0, Node on the other side.
// One file at a time: each launches a browser and some derive Argon2id keys, and there are
// only two cores.
export default defineConfig({
  test: {
    name: "e2e",
    root: import.meta.dirname,
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
