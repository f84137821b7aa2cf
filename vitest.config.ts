// Unit and function tests; end-to-end suites over the emulators live in vitest.e2e.config.ts.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "node_modules/**"],
    // Two files at a time even on two cores (Vitest's default there is one): the slow files mostly wait on child
    // processes (the demo, the trainer, emulators, CLI runs), so a second file's work fits in that wait
    // (docs/benchmarks.md, "Unit suite").
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default", "json"],
    outputFile: { json: ".local/test-results/vitest.json" },
  },
});
