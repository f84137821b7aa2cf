// The evaluate job end to end on the tiny golden model: reports, event, champion, and failures that name their cause.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { judgeSlice } from "../../schemas/bias-rule.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { Metrics } from "../../schemas/metrics.ts";
import { LABELS } from "../../schemas/names.ts";
import { ANALYSIS_LIMITS, ErrorAnalysis } from "../../schemas/error-analysis.ts";
import { classificationReport } from "../../gpu-jobs/evaluate/classification-report.ts";
import { TINY_MODEL, TINY_SPLIT } from "../inference/model-fixture.ts";
import { DATA_DIR, EvalWorld, LINE, MODEL_DIR, OUT_DIR, RUN_DIR } from "./job-harness.ts";
import type { ModelRegistry, ModelVersion } from "../../platform/ports/model-registry.ts";
import { LEGACY_MODEL_LINE } from "../../schemas/model-line.ts";

interface Expected {
  predictions: { id: string; pred: number; logits: number[] }[];
  overall: Metrics;
  slices: { column: string; value: string; support: number; metrics: Metrics }[];
}
const expected = JSON.parse(readFileSync(join(TINY_SPLIT, "expected.json"), "utf8")) as Expected;
const ROWS = expected.predictions.length;

function expectMetrics(actual: Metrics, wanted: Metrics): void {
  for (const key of [
    "accuracy",
    "weightedPrecision",
    "weightedRecall",
    "weightedF1",
    "macroPrecision",
    "macroRecall",
    "macroF1",
  ] as const) {
    expect(actual[key], key).toBeCloseTo(wanted[key], 12);
  }
  for (const label of LABELS) {
    expect(actual.perClass[label].f1, `${label} f1`).toBeCloseTo(wanted.perClass[label].f1, 12);
    expect(actual.perClass[label].support).toBe(wanted.perClass[label].support);
  }
  expect(actual.confusion).toEqual(wanted.confusion);
}

let world: EvalWorld;
beforeEach(async () => {
  world = new EvalWorld();
  await world.seed();
});
afterEach(() => world.dispose());

describe("evaluate job", () => {
  it("writes metrics.json equal to numpy + scikit-learn on the same split", async () => {
    expect(await world.run(world.input())).toBe(0);
    const report = await world.metrics();
    expect(report.testRows).toBe(ROWS);
    expect(report.modelUri).toBe(MODEL_DIR);
    expectMetrics(report.metrics, expected.overall);
    expect(report.classificationReport).toBe(classificationReport(report.metrics, LABELS));
    expect(report.classificationReport).toContain("weighted avg");
    expect(report.champion).toBeNull();
    expect(report.throughput?.provider).toMatch(/^cpu \(\d+ threads\)$/);
    expect(report.throughput?.reviewsPerSecond).toBeGreaterThan(0);
  });

  it("writes predictions.jsonl with numpy's prediction for every row, in file order", async () => {
    expect(await world.run(world.input())).toBe(0);
    const lines = (await world.store.read(`${OUT_DIR}/predictions.jsonl`))
      .toString("utf8")
      .trim()
      .split("\n");
    const rows = lines.map(
      (l) =>
        JSON.parse(l) as {
          id: string;
          line: number;
          label: string;
          predicted: string;
          probabilities: number[];
        },
    );
    expect(rows.map((r) => r.id)).toEqual(expected.predictions.map((p) => p.id));
    expect(rows.map((r) => r.predicted)).toEqual(expected.predictions.map((p) => LABELS[p.pred]));
    expect(rows.map((r) => r.line)).toEqual(rows.map((_, i) => i + 1));
    for (const r of rows) expect(r.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(lines.join("\n")).not.toContain('"text"');
  });

  it("writes analysis.json: the confident mistakes with their text cut short, calibration and PR curves of the run", async () => {
    expect(await world.run(world.input())).toBe(0);
    const analysis = ErrorAnalysis.parse(
      JSON.parse((await world.store.read(`${OUT_DIR}/analysis.json`)).toString("utf8")),
    );
    expect(analysis.testRows).toBe(ROWS);
    const byId = new Map(expected.predictions.map((p) => [p.id, p]));
    for (const m of analysis.mistakes) {
      // Each kept mistake is one numpy also got wrong, with numpy's predicted class.
      expect(LABELS[byId.get(m.id)!.pred]).toBe(m.predicted);
      expect(m.predicted).not.toBe(m.label);
      expect(m.text.length).toBeLessThanOrEqual(ANALYSIS_LIMITS.textChars + 1);
    }
    expect(analysis.mistakes.length).toBeGreaterThan(0);
    expect(analysis.mistakes.length).toBeLessThanOrEqual(3 * ANALYSIS_LIMITS.mistakesPerClass);
    const counted = analysis.calibration.bins.reduce((s, b) => s + b.count, 0);
    expect(counted).toBe(ROWS);
    const report = await world.metrics();
    // The calibration's accuracy is the evaluation's: bins weighted by their rows.
    const accuracy =
      analysis.calibration.bins.reduce((s, b) => s + (b.accuracy ?? 0) * b.count, 0) / Math.max(1, counted);
    expect(accuracy).toBeCloseTo(report.metrics.accuracy, 9);
    expect(analysis.precisionRecall.map((p) => p.positives)).toEqual(
      LABELS.map((l) => report.metrics.perClass[l].support),
    );
  });

  it("evaluates the export it is given: model.int8.onnx (what serving serves by default) or model.onnx", async () => {
    const probabilities = async (outDir: string): Promise<number[][]> =>
      (await world.store.read(`${outDir}/predictions.jsonl`))
        .toString("utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { probabilities: number[] }).probabilities);
    const int8Dir = `${RUN_DIR}/evaluate/a2`;
    expect(await world.run(world.input())).toBe(0);
    expect(
      await world.run(
        world.input({
          attempt: 2,
          outDir: int8Dir,
          evaluation: { ...world.input().evaluation, onnx: "int8" },
        }),
      ),
    ).toBe(0);
    expect((await world.metrics()).modelFile).toBe("model.onnx");
    expect((await world.metrics(int8Dir)).modelFile).toBe("model.int8.onnx");
    // Quantized weights move the probabilities: the int8 run did not read model.onnx.
    const fp32 = await probabilities(OUT_DIR);
    const int8 = await probabilities(int8Dir);
    expect(int8).toHaveLength(fp32.length);
    expect(int8.some((p, i) => p.some((v, k) => Math.abs(v - fp32[i]![k]!) > 1e-4))).toBe(true);
  });

  it("writes every slice of every configured column with scikit-learn's metrics and the bias rule's marks", async () => {
    expect(await world.run(world.input())).toBe(0);
    const all = await world.slices();
    // scikit-learn's side computes single values; pooled and crossed slices have their own tests (slices.test.ts).
    const report = { ...all, slices: all.slices.filter((s) => s.kind === "value") };
    const rules = parseConfig({}).rules;
    expect(report.slices.map((s) => `${s.column}=${s.value}`)).toEqual(
      expected.slices.map((s) => `${s.column}=${s.value}`),
    );
    expect(report.bootstrap).toEqual({ resamples: 1000, confidence: 0.95, seed: 42 });
    expect(report.overallF1).toBeCloseTo(expected.overall.weightedF1, 12);
    report.slices.forEach((s, i) => {
      const want = expected.slices[i]!;
      expect(s.support).toBe(want.support);
      expect(s.share).toBeCloseTo(want.support / ROWS, 12);
      expectMetrics(s.metrics, want.metrics);
      expect(s.f1).toBeCloseTo(want.metrics.weightedF1, 12);
      expect(s.ratio).toBeCloseTo(want.metrics.weightedF1 / expected.overall.weightedF1, 12);
      expect(s.f1Interval!.low).toBeLessThanOrEqual(s.f1Interval!.high);
      expect(s.ratioInterval!.low).toBeLessThanOrEqual(s.ratioInterval!.high);
      const judged = judgeSlice(s, report.overallF1, rules);
      expect([s.biased, s.significant]).toEqual([judged.biased, judged.significant]);
    });
    // The fixture's Toys reviews are worded ambiguously on purpose: the rule must catch that slice.
    const toys = report.slices.find((s) => s.value === "Toys")!;
    expect(toys.biased).toBe(true);
    expect(report.slices.filter((s) => s.biased).map((s) => s.value)).toEqual(["Toys"]);
  });

  it("publishes evaluation.completed with the overall metrics and every slice, never an overall row", async () => {
    expect(await world.run(world.input())).toBe(0);
    const [event] = world.bus.ofType("evaluation.completed");
    expect(event).toBeDefined();
    const data = event!.data;
    expect(data.modelDir).toBe(MODEL_DIR);
    expect(data.metricsUri).toBe(`${OUT_DIR}/metrics.json`);
    expect(data.slicesUri).toBe(`${OUT_DIR}/slices.json`);
    expect(data.testRows).toBe(ROWS);
    expect(data.overall.weightedF1).toBeCloseTo(expected.overall.weightedF1, 12);
    expect(data.overall.macroF1).toBeCloseTo(expected.overall.macroF1, 12);
    expect(data.slices.filter((s) => s.kind === "value")).toHaveLength(expected.slices.length);
    expect(data.slices.some((s) => s.value === "overall" || s.column === "overall")).toBe(false);
    expect(data.slices[0]).not.toHaveProperty("metrics");
    expect(data.champion).toBeNull();
    expect(event!.runId).toBe(world.input().runId);
  });

  it("evaluates model.onnx when the trainer refused the int8 export, and names the model each batch scores", async () => {
    const metadataUri = `${MODEL_DIR}/metadata.json`;
    const metadata = JSON.parse((await world.store.read(metadataUri)).toString("utf8")) as Record<
      string,
      unknown
    >;
    const reason =
      "int8 rejected, fp32 served: int8 validation weighted F1 0.7000 vs fp32 0.8000 (tolerance 0.02)";
    const quantization = {
      served: "fp32",
      method: "feed-forward weights, per channel",
      tolerance: 0.02,
      fp32: { weightedF1: 0.8, macroF1: 0.7 },
      int8: { weightedF1: 0.7, macroF1: 0.6 },
      agreement: 0.9,
      examples: 8,
      reason,
      tried: ["feed-forward weights, per channel: weighted F1 0.7000, macro F1 0.6000, agreement 90.00%"],
    };
    await world.store.write(metadataUri, JSON.stringify({ ...metadata, quantization }));
    const input = world.input();
    expect(await world.run({ ...input, evaluation: { ...input.evaluation, onnx: "int8" } })).toBe(0);
    expect((await world.metrics()).modelFile).toBe("model.onnx");
    const progress = world.bus.ofType("job.progress").map((e) => e.data);
    expect(progress.every((p) => p.message === "scoring the model under test (model.onnx)")).toBe(true);
    expect(world.log.entries.some((e) => e.message === `evaluating model.onnx: ${reason}`)).toBe(true);
  });

  it("reports progress in batches, ending at the total", async () => {
    expect(await world.run(world.input({}, { evaluation: { batchSize: 16 } }))).toBe(0);
    const progress = world.bus.ofType("job.progress").map((e) => e.data);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((p) => p.unit === "batch" && p.step === "evaluate" && p.total === 15)).toBe(true);
    expect(progress.at(-1)!.current).toBe(15);
    const currents = progress.map((p) => p.current);
    expect([...currents].sort((a, b) => a - b)).toEqual(currents);
  });

  it("gives the same reports whatever the batch size", async () => {
    expect(await world.run(world.input({}, { evaluation: { batchSize: 1 } }))).toBe(0);
    const one = await world.slices();
    const second = `${RUN_DIR}/evaluate/a2`;
    expect(
      await world.run(world.input({ attempt: 2, outDir: second }, { evaluation: { batchSize: 500 } })),
    ).toBe(0);
    expect(await world.slices(second)).toEqual(one);
  });

  it("repeats its bootstrap intervals exactly for the same seed, and moves them for another", async () => {
    expect(await world.run(world.input())).toBe(0);
    const first = await world.slices();
    const [again, seeded] = [2, 3].map((a) => `${RUN_DIR}/evaluate/a${a}`);
    expect(await world.run(world.input({ attempt: 2, outDir: again! }))).toBe(0);
    expect(await world.slices(again)).toEqual(first);
    expect(await world.run(world.input({ attempt: 3, outDir: seeded! }, { evaluation: { seed: 7 } }))).toBe(
      0,
    );
    const other = await world.slices(seeded);
    expect(other.slices.map((s) => s.f1Interval)).not.toEqual(first.slices.map((s) => s.f1Interval));
    expect(other.slices.map((s) => s.f1)).toEqual(first.slices.map((s) => s.f1));
  });

  it("records the significance switch and leaves intervals out when bootstrapping is off", async () => {
    const input = world.input(
      {},
      { rules: { requireSignificance: true }, evaluation: { bootstrapResamples: 0 } },
    );
    expect(await world.run(input)).toBe(0);
    const report = await world.slices();
    expect(report.threshold.requireSignificance).toBe(true);
    expect(
      report.slices.every((s) => s.f1Interval === null && s.ratioInterval === null && !s.significant),
    ).toBe(true);
    expect(report.slices.find((s) => s.value === "Toys")!.biased).toBe(true);
  });

  it("refuses to start on local folders, naming the argument: every input is in its run's folder", () => {
    expect(() => world.input({ dataDir: world.localCopy(TINY_SPLIT, "data") })).toThrow(
      /must be this run's prepare folder \(prepare\/aN\)/,
    );
    expect(() => world.input({ modelDir: world.localCopy(TINY_MODEL, "model") })).toThrow(
      /must be a model folder of this run/,
    );
    expect(() => world.input({ outDir: join(world.root, "out") })).toThrow(/this step attempt's own folder/);
  });
});

describe("evaluate job with a champion", () => {
  /** A registry upgraded from before model lines (Vertex): no line has a champion, the old single model has one. */
  function upgradedRegistry(legacy: ModelVersion): ModelRegistry {
    return {
      registerChampion: () => Promise.reject(new Error("the evaluate job registers nothing")),
      getChampion: () => Promise.resolve(null),
      listVersions: () => Promise.resolve([]),
      legacyChampion: () => Promise.resolve(legacy),
    };
  }
  const legacyDir = "gs://local-bucket/runs/legacy-run/train/a1/model";
  const legacy: ModelVersion = {
    modelResource: "projects/p/locations/us-central1/models/sentiment-classifier",
    line: LEGACY_MODEL_LINE,
    version: "7",
    artifactUri: legacyDir,
    runId: "legacy-run",
    aliases: ["champion"],
    metrics: { accuracy: 0.5, weightedF1: 0.5, macroF1: 0.5 },
    createdAt: "2026-01-01T00:00:00.000Z",
  };

  it("compares with the champion registered before model lines when its base model gives this line", async () => {
    await world.copyFolder(TINY_MODEL, legacyDir);
    expect(await world.run(world.input(), upgradedRegistry(legacy))).toBe(0);
    const data = world.bus.ofType("evaluation.completed")[0]!.data;
    expect(data.champion).toMatchObject({ modelVersion: "7", modelUri: legacyDir });
    expect(world.log.entries.map((e) => e.message)).toContain(
      `champion of line ${LINE}: version 7 of ${legacy.modelResource}, registered before model lines`,
    );
  });

  it("does not compare with it when its base model gives another line, and says why", async () => {
    await world.copyFolder(TINY_MODEL, legacyDir);
    expect(await world.run(world.input({ modelLine: "minilm-3class" }), upgradedRegistry(legacy))).toBe(0);
    expect(world.bus.ofType("evaluation.completed")[0]!.data.champion).toBeNull();
    expect(world.log.entries.map((e) => e.message)).toContain(
      "first of its line minilm-3class: no champion to compare with (the champion registered before model lines, version 7, is not compared: its line is tiny-3class)",
    );
  });

  it("compares the model only with its own line's champion: another line's is not evaluated", async () => {
    const otherDir = `gs://local-bucket/runs/older-run/train/a1/model`;
    await world.copyFolder(TINY_MODEL, otherDir);
    await world.registry.registerChampion({
      line: "minilm-3class",
      runId: "older-run",
      attempt: 1,
      artifactUri: otherDir,
      metrics: { accuracy: 0.9, weightedF1: 0.9, macroF1: 0.9 },
    });
    expect(await world.run(world.input())).toBe(0);
    const data = world.bus.ofType("evaluation.completed")[0]!.data;
    expect(data.champion).toBeNull();
    expect(data.modelLine).toBe(LINE);
    expect((await world.metrics()).champion).toBeNull();
    expect(
      world.log.entries.some((e) => e.message === `first of its line ${LINE}: no champion to compare with`),
    ).toBe(true);
  });

  it("evaluates the registered champion on the same split and reports it beside the model", async () => {
    const championDir = `gs://local-bucket/runs/older-run/train/a1/model`;
    await world.copyFolder(TINY_MODEL, championDir);
    const version = await world.registry.registerChampion({
      line: LINE,
      runId: "older-run",
      attempt: 1,
      artifactUri: championDir,
      metrics: { accuracy: 0.5, weightedF1: 0.5, macroF1: 0.5 },
    });
    expect(await world.run(world.input())).toBe(0);
    const report = await world.metrics();
    expect(report.champion?.modelVersion).toBe(version.version);
    expect(report.champion?.modelUri).toBe(championDir);
    // Same model, same split: like for like, so the same numbers (not the registry's stored 0.5).
    expectMetrics(report.champion!.metrics, expected.overall);
    const data = world.bus.ofType("evaluation.completed")[0]!.data;
    expect(data.champion).toEqual({
      modelVersion: version.version,
      modelUri: championDir,
      overall: expect.any(Object) as unknown,
    });
    expect(data.champion!.overall.weightedF1).toBeCloseTo(expected.overall.weightedF1, 12);
    // Every slice carries the champion's F1 on its own rows: the same model, so the same F1 as the model's.
    const slices = await world.slices();
    expect(slices.champion).toEqual({
      modelVersion: version.version,
      overallF1: expect.any(Number) as unknown,
    });
    expect(slices.slices.length).toBeGreaterThan(0);
    for (const s of slices.slices) expect(s.championF1).toBeCloseTo(s.f1, 12);
    const progress = world.bus.ofType("job.progress").map((e) => e.data);
    expect(progress.at(-1)).toMatchObject({
      current: 8,
      total: 8,
      message: "scoring the champion, version 1 (model.onnx)",
    });
  });

  it("moves the rows' features to the champion's own training statistics", async () => {
    const championDir = `gs://local-bucket/runs/older-run/train/a1/model`;
    await world.copyFolder(TINY_MODEL, championDir);
    const meta = JSON.parse(readFileSync(join(TINY_MODEL, "metadata.json"), "utf8")) as {
      features: Record<string, number>;
    };
    meta.features = { ...meta.features, priceMean: 60, priceStd: 3 };
    await world.store.write(`${championDir}/metadata.json`, JSON.stringify(meta));
    await world.registry.registerChampion({
      line: LINE,
      runId: "older-run",
      attempt: 1,
      artifactUri: championDir,
      metrics: { accuracy: 0, weightedF1: 0, macroF1: 0 },
    });
    expect(await world.run(world.input())).toBe(0);
    expect(world.log.entries.some((e) => e.message.startsWith("champion features rescaled"))).toBe(true);
    const report = await world.metrics();
    // The price feature shifts by (27.5 - 60) / 3 for the champion: its predictions and so its metrics change.
    expect(report.champion!.metrics.confusion).not.toEqual(report.metrics.confusion);
  });

  it("fails, naming the champion, when the champion's folder cannot be evaluated", async () => {
    await world.registry.registerChampion({
      line: LINE,
      runId: "older-run",
      attempt: 1,
      artifactUri: "gs://local-bucket/runs/older-run/train/a1/model",
      metrics: { accuracy: 0.5, weightedF1: 0.5, macroF1: 0.5 },
    });
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toMatch(
      /the champion \(version 1\) cannot be evaluated: .*has no metadata\.json/,
    );
  });
});

describe("evaluate job failures", () => {
  it("fails without retry, naming the folder, when the model is missing", async () => {
    expect(await world.run(world.input({ modelDir: `${RUN_DIR}/train/a9/model` }))).toBe(3);
    expect(world.failure()).toMatch(
      /the model under test cannot be evaluated: model folder gs:\/\/local-bucket\/runs\/reviews-eval-test\/train\/a9\/model has no/,
    );
    expect(world.bus.ofType("evaluation.completed")).toHaveLength(0);
  });

  it("fails without retry when model.onnx is corrupt", async () => {
    await world.store.write(`${MODEL_DIR}/model.onnx`, Buffer.alloc(4096, 7));
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toMatch(/model\.onnx is not a valid ONNX model/);
  });

  it("fails without retry when the tokenizer does not belong to the model", async () => {
    const tok = JSON.parse(readFileSync(join(TINY_MODEL, "tokenizer.json"), "utf8")) as {
      model: { vocab: Record<string, number> };
    };
    const rows = Object.keys(tok.model.vocab).length;
    for (let i = 0; i < 300; i += 1) tok.model.vocab[`zz${i}`] = rows + i;
    await world.store.write(`${MODEL_DIR}/tokenizer.json`, JSON.stringify(tok));
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toContain(
      `tokenizer.json has ${rows + 300} tokens but model.onnx's embedding table has ${rows} rows`,
    );
  });

  it("fails without retry on an empty test split", async () => {
    const stats = JSON.parse(readFileSync(join(TINY_SPLIT, "stats.json"), "utf8")) as {
      splits: { test: { rows: number } };
    };
    stats.splits.test.rows = 0;
    await world.store.write(`${DATA_DIR}/stats.json`, JSON.stringify(stats));
    await world.store.write(`${DATA_DIR}/test.jsonl`, "\n");
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toMatch(/the test split .*test\.jsonl is empty/);
  });

  it("fails without retry on an unknown label, naming the line", async () => {
    const lines = readFileSync(join(TINY_SPLIT, "test.jsonl"), "utf8").split("\n");
    lines[2] = lines[2]!.replace(/"label": ?"[A-Z]+"/, '"label": "MIXED"');
    await world.store.write(`${DATA_DIR}/test.jsonl`, lines.join("\n"));
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toMatch(/test\.jsonl line 3, field label: unknown label "MIXED"/);
  });

  it("fails without retry when a row's labelId contradicts its label", async () => {
    const lines = readFileSync(join(TINY_SPLIT, "test.jsonl"), "utf8").split("\n");
    const row = JSON.parse(lines[4]!) as { labelId: number };
    row.labelId = (row.labelId + 1) % 3;
    lines[4] = JSON.stringify(row);
    await world.store.write(`${DATA_DIR}/test.jsonl`, lines.join("\n"));
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toMatch(/test\.jsonl line 5, field labelId: /);
  });

  it("fails without retry on a line that is not JSON", async () => {
    await world.store.write(
      `${DATA_DIR}/test.jsonl`,
      readFileSync(join(TINY_SPLIT, "test.jsonl"), "utf8") + "{oops\n",
    );
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toMatch(/test\.jsonl line 241: not valid JSON/);
  });

  it("fails without retry when stats.json counts other rows than test.jsonl holds", async () => {
    const lines = readFileSync(join(TINY_SPLIT, "test.jsonl"), "utf8").trim().split("\n");
    await world.store.write(`${DATA_DIR}/test.jsonl`, lines.slice(0, 100).join("\n"));
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toMatch(/has 100 rows but .*stats\.json counts 240/);
  });

  it("fails without retry when the data folder has no test split", async () => {
    await world.store.delete(`${DATA_DIR}/test.jsonl`);
    expect(await world.run(world.input())).toBe(3);
    expect(world.failure()).toMatch(/the data folder has no test split/);
  });
});

describe("evaluate job and the registry's champion", () => {
  it.each(["gs://local-bucket/models/hand-made", "gs://other-bucket/runs/older-run/train/a1/model", "/etc"])(
    "fails without retry, naming it, when the champion's artifact URI is %s",
    async (artifactUri) => {
      await world.registry.registerChampion({
        line: LINE,
        runId: "older-run",
        attempt: 1,
        artifactUri,
        metrics: { accuracy: 0.5, weightedF1: 0.5, macroF1: 0.5 },
      });
      expect(await world.run(world.input())).toBe(3);
      expect(world.failure()).toMatch(/the champion \(version 1\) cannot be evaluated: its artifact URI/);
    },
  );
});
