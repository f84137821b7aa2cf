// End-to-end suite over the emulator stack: one stack for the whole suite (test/e2e/global-setup.ts), files one at a time.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/e2e/global-setup.ts"],
    // The runs share one stack and two cores: one file at a time, in a separate process from the stack.
    fileParallelism: false,
    pool: "forks",
    testTimeout: 10 * 60_000,
    hookTimeout: 5 * 60_000,
    reporters: ["default", "json"],
    outputFile: { json: ".local/test-results/vitest-e2e.json" },
  },
});
