// The pipeline config: the original pipeline's numbers as defaults, file and env sources, errors that name the path.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, ENV_VARS, loadConfig } from "../../schemas/load-config.ts";

const file = (content: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), "sp-config-")), "pipeline.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
};

describe("loadConfig", () => {
  it("defaults to the original pipeline's rules, budgets and search space", () => {
    const c = loadConfig({ env: {} });
    expect(c.rules).toEqual({
      f1Min: 0.6,
      minSliceShare: 0.1,
      // No row count: the share alone decides which slices are judged, as in the original pipeline.
      groupRareSlices: true,
      crossSlices: true,
      sliceF1Ratio: 0.9,
      sliceColumns: ["year", "main_category"],
      requireSignificance: false,
      championTolerance: 0,
    });
    expect(c.budgets).toMatchObject({ retune: 1, mitigation: 1, jobAttempts: 2 });
    expect(c.search).toEqual({
      modelFamilies: ["bert", "roberta"],
      learningRate: { low: 1e-5, high: 1e-3, log: true },
      batchSizes: [32, 64],
      epochs: { low: 3, high: 5 },
      weightDecay: { low: 1e-4, high: 0.1, log: true },
      dropout: { low: 0.1, high: 0.5, log: false },
      trials: 8,
      timeBudget: 720,
      parallelTrials: 1,
      earlyStopping: "median",
    });
    expect(c.machines.tune).toMatchObject({ acceleratorType: "NVIDIA_L4", acceleratorCount: 1, spot: true });
  });

  it("layers a file, then the environment, then overrides", () => {
    const path = file({ rules: { f1Min: 0.7, sliceF1Ratio: 0.8 }, search: { trials: 20 } });
    const c = loadConfig({
      env: { PIPELINE_CONFIG: path, F1_MIN: "0.75", SLICE_COLUMNS: "year, main_category ,store" },
      overrides: { search: { trials: 3 } },
    });
    expect(c.rules.f1Min).toBe(0.75);
    expect(c.rules.sliceF1Ratio).toBe(0.8);
    expect(c.rules.sliceColumns).toEqual(["year", "main_category", "store"]);
    expect(c.search.trials).toBe(3);
  });

  it("sets every family's model from MODEL", () => {
    expect(loadConfig({ env: { MODEL: "tiny" } }).training.models).toEqual({ bert: "tiny", roberta: "tiny" });
  });

  it("reads the study's time budget, its parallel trials and the int8 tolerance from the environment, checked", () => {
    const c = loadConfig({
      env: { TUNING_TIME_BUDGET: "0", PARALLEL_TRIALS: "3", INT8_F1_TOLERANCE: "0.05" },
    });
    expect([c.search.timeBudget, c.search.parallelTrials, c.training.int8F1Tolerance]).toEqual([0, 3, 0.05]);
    expect(() => loadConfig({ env: { PARALLEL_TRIALS: "0" } })).toThrow(/search\.parallelTrials/);
    expect(() => loadConfig({ env: { TUNING_TIME_BUDGET: "ten" } })).toThrow(/TUNING_TIME_BUDGET/);
  });

  it("returns a frozen config", () => {
    const c = loadConfig({ env: {} });
    expect(Object.isFrozen(c.rules)).toBe(true);
    expect(() => {
      (c.rules as { f1Min: number }).f1Min = 0;
    }).toThrow();
  });

  it.each([
    [{ F1_MIN: "1.5" }, /rules\.f1Min \(from env F1_MIN\): .*<=1/],
    [{ F1_MIN: "abc" }, /rules\.f1Min \(from env F1_MIN\)/],
    [{ JOB_ATTEMPTS: "0" }, /budgets\.jobAttempts \(from env JOB_ATTEMPTS\)/],
    [{ BUCKET: "Bad_Bucket!" }, /runtime\.bucket \(from env BUCKET\): bucket name/],
    [{ REQUIRE_SIGNIFICANCE: "maybe" }, /rules\.requireSignificance \(from env REQUIRE_SIGNIFICANCE\)/],
  ])("fails on an invalid environment value naming the path and variable: %o", (env, message) => {
    expect(() => loadConfig({ env })).toThrow(message);
  });

  it("fails on an invalid file value naming the path and the file", () => {
    const path = file({ search: { learningRate: { low: 1e-3, high: 1e-5, log: true } } });
    expect(() => loadConfig({ env: {}, file: path })).toThrow(
      new RegExp(`search\\.learningRate \\(from file ${path}\\): low must not exceed high`),
    );
  });

  it("fails on a misspelt key instead of ignoring it", () => {
    expect(() => loadConfig({ env: {}, file: file({ rules: { f1min: 0.5 } }) })).toThrow(
      /rules\.f1min: unknown key/,
    );
  });

  it("fails on a file that is not JSON, naming the file", () => {
    const path = file("{ nope");
    expect(() => loadConfig({ env: {}, file: path })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, file: path })).toThrow(path);
  });

  it("documents every environment variable it reads in the README's config table", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(join(import.meta.dirname, "../../README.md"), "utf8");
    for (const v of ENV_VARS) expect(readme, `README lacks ${v.name}`).toContain(`\`${v.name}\``);
  });
});

describe("README config table", () => {
  it("matches the code: `npx tsx scripts/config-table.ts --write` would change nothing", async () => {
    const { readFile } = await import("node:fs/promises");
    const { readmeWithTable } = await import("../../scripts/config-table.ts");
    const readme = await readFile(join(import.meta.dirname, "../../README.md"), "utf8");
    expect(readme).toBe(await readmeWithTable(readme));
  });
});
