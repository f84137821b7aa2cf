// A run folder with known numbers, driven through the real decision core: what the report, tracking and CLI tests read.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LABELS, runDir } from "../../../schemas/names.ts";
import { parseConfig } from "../../../schemas/load-config.ts";
import type { PipelineConfig } from "../../../schemas/config.ts";
import type { Metrics, MetricsReport, SliceReport, SliceResult } from "../../../schemas/metrics.ts";
import type { ModelMetadata } from "../../../schemas/model.ts";
import type { PreparedStats } from "../../../schemas/review.ts";
import type { RunState } from "../../../schemas/run-state.ts";
import type { HyperParams } from "../../../schemas/hyperparams.ts";
import { makeEvent } from "../../../events/codec.ts";
import { PipelineEvent } from "../../../events/catalogue.ts";
import { decide } from "../../../functions/core/decide.ts";
import { judgeSlice } from "../../../schemas/bias-rule.ts";
import { metricsFromConfusion } from "../../../gpu-jobs/evaluate/metrics.ts";
import { errorAnalysis, type AnalysedRow } from "../../../gpu-jobs/evaluate/error-analysis.ts";
import type { ErrorAnalysis } from "../../../schemas/error-analysis.ts";
import { deriveRunId } from "../../../functions/start-run.ts";
import { eventLogUri } from "../../../functions/run-event-log.ts";
import { LocalObjectStore } from "../../../platform/local/local-object-store.ts";
import { LocalRunLedger } from "../../../platform/local/local-run-ledger.ts";

/** `failed`: the training job fails for good, so nothing is trained or evaluated. */
export type Scenario = "blocked_bias" | "promoted" | "failed";

export interface FixtureRun {
  root: string;
  config: PipelineConfig;
  store: LocalObjectStore;
  ledger: LocalRunLedger;
  runId: string;
  state: RunState;
  events: PipelineEvent[];
  /** The final evaluation's numbers, as written. */
  metrics: MetricsReport;
  slices: SliceReport;
  /** The final evaluation's analysis.json. */
  analysis: ErrorAnalysis;
  stats: PreparedStats;
}

/** A slice value in the fixture: its confusion matrix on the test split. */
interface SliceSpec {
  column: string;
  value: string;
  confusion: number[][];
}

const PARAMS: HyperParams = {
  modelFamily: "roberta",
  learningRate: 2.5e-5,
  batchSize: 32,
  epochs: 3,
  weightDecay: 0.01,
  dropout: 0.2,
};

/** The overall test confusion (true label by row): 200 rows, weighted F1 about 0.87. */
export const OVERALL_CONFUSION = [
  [40, 5, 5],
  [6, 20, 4],
  [3, 2, 115],
];

/** Review text of the most confident NEGATIVE mistake: markup that must come out as text. */
export const HOSTILE_REVIEW = `<img src=x onerror="alert('pwned')"> Broke after a day.<br />Returned it. ${"Very long. ".repeat(60)}THE END`;

/** A category name that must come out escaped in HTML. */
export const TRICKY_CATEGORY = "Tools & <Home>";

function sliceSpecs(scenario: Scenario): SliceSpec[] {
  const grocery =
    scenario === "blocked_bias"
      ? [
          [4, 3, 3],
          [3, 2, 2],
          [2, 1, 10],
        ]
      : [
          [8, 1, 1],
          [1, 5, 1],
          [1, 0, 12],
        ];
  return [
    {
      column: "year",
      value: "2021",
      confusion: [
        [12, 2, 1],
        [2, 6, 1],
        [1, 1, 34],
      ],
    },
    {
      column: "year",
      value: "2022",
      confusion: [
        [14, 1, 2],
        [2, 7, 2],
        [1, 0, 41],
      ],
    },
    {
      column: "year",
      value: "2023",
      confusion: [
        [14, 2, 2],
        [2, 7, 1],
        [1, 1, 40],
      ],
    },
    {
      column: "main_category",
      value: "Books",
      confusion: [
        [20, 2, 2],
        [2, 10, 1],
        [1, 1, 60],
      ],
    },
    { column: "main_category", value: "Grocery", confusion: grocery },
    {
      column: "main_category",
      value: TRICKY_CATEGORY,
      confusion: [
        [6, 1, 1],
        [1, 3, 1],
        [1, 0, 26],
      ],
    },
    {
      column: "main_category",
      value: "Garden",
      confusion: [
        [5, 1, 1],
        [1, 2, 1],
        [0, 1, 14],
      ],
    },
    {
      column: "main_category",
      value: "unknown",
      confusion: [
        [1, 0, 0],
        [0, 0, 0],
        [0, 0, 4],
      ],
    },
  ];
}

/** Metrics of a confusion matrix, by the evaluate job's own code (scikit-learn's rules, checked against it there). */
export function metricsOf(confusion: number[][]): Metrics {
  return metricsFromConfusion(confusion, LABELS);
}

/** Builds the run in a fresh LOCAL_ROOT: files written, state and event log from the decision core. */
export async function fixtureRun(scenario: Scenario = "blocked_bias", root?: string): Promise<FixtureRun> {
  root ??= mkdtempSync(join(tmpdir(), "sp-fixture-run-"));
  const config = parseConfig({ runtime: { mode: "embedded", localRoot: root } });
  const bucket = config.runtime.bucket;
  const store = new LocalObjectStore(bucket, join(root, "bucket"));
  const ledger = new LocalRunLedger(join(root, "bucket"));
  const name = `uploads/fixture-${scenario.replace("_", "-")}.jsonl`;
  const runId = deriveRunId(bucket, name, "1");
  const base = runDir(bucket, runId);
  const write = (path: string, value: unknown) =>
    store.write(`${base}/${path}`, typeof value === "string" ? value : `${JSON.stringify(value, null, 2)}\n`);

  const t0 = Date.parse("2026-03-01T10:00:00Z");
  let clock = 0;
  const fields = (attempt: number, seconds: number) => ({
    runId,
    attempt,
    correlationId: runId,
    time: new Date(t0 + (clock += seconds) * 1000).toISOString(),
  });

  // Data.
  const stats: PreparedStats = {
    input: `gs://${bucket}/${name}`,
    format: "jsonl",
    schema: "amazon-2023",
    rowsRead: 2003,
    rowsKept: 2000,
    rowsRejected: 3,
    rejectedByReason: { missing_text: 2, invalid_rating: 1 },
    labelSource: { column: 0, rating: 2000 },
    splitMode: "stratified",
    seed: 42,
    splits: {
      train: splitStats(1600, [400, 200, 1000]),
      validation: splitStats(200, [50, 30, 120]),
      test: splitStats(200, [50, 30, 120]),
    },
    classWeights: [1.33, 2.22, 0.56],
    featureStats: {
      names: ["price", "price_missing", "helpful_vote", "verified_purchase"],
      priceFill: 20,
      priceMean: 30,
      priceStd: 10,
      helpfulMean: 0.5,
      helpfulStd: 0.7,
      // As in the real sample: prices on most rows, no helpful_vote or verified_purchase anywhere.
      present: { price: 1100, helpful_vote: 0, verified_purchase: 0 },
    },
    fingerprint: "f1xture0fingerprint",
  };
  const dataDir = `${base}/prepare/a1`;
  await write("prepare/a1/stats.json", stats);
  await write(
    "prepare/a1/rejected.jsonl",
    [
      {
        line: 17,
        reason: "missing_text",
        field: "text",
        message: "text is empty",
        raw: '{"rating":5}',
        truncated: false,
      },
      {
        line: 99,
        reason: "invalid_rating",
        field: "rating",
        message: "rating 7 is outside 1-5",
        raw: "{}",
        truncated: false,
      },
      {
        line: 1204,
        reason: "missing_text",
        field: "text",
        message: "text is empty",
        raw: "{}",
        truncated: false,
      },
    ]
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
  );

  // Tuning: three trials, one pruned.
  await write(
    "tune/a1/trials.csv",
    [
      "trial,state,value,model_family,learning_rate,batch_size,epochs,weight_decay,dropout,epochs_run,seconds",
      "1,COMPLETE,0.81,bert,0.0003,64,3,0.001,0.4,3,41.5",
      "2,PRUNED,0.62,bert,0.0009,32,4,0.05,0.3,1,12.0",
      "3,COMPLETE,0.86,roberta,2.5e-05,32,3,0.01,0.2,3,44.1",
    ].join("\n") + "\n",
  );
  const tuning = {
    trials: 3,
    completedTrials: 2,
    prunedTrials: 1,
    bestParams: PARAMS,
    bestValue: 0.86,
    studyTrials: 3,
    bestTrial: 3,
    bestValidation: { accuracy: 0.87, weightedF1: 0.86, macroF1: 0.8 },
  };
  await write("tune/a1/tuning.json", tuning);

  const inputs: PipelineEvent[] = [];
  const progress = (
    step: "tune" | "train" | "evaluate",
    attempt: number,
    unit: "trial" | "epoch" | "batch",
    current: number,
    total: number,
    f1?: number,
  ) =>
    inputs.push(
      makeEvent("job.progress", fields(attempt, 5), {
        step,
        unit,
        current,
        total,
        message: `${unit} ${current}`,
        ...(f1 !== undefined ? { metrics: { weightedF1: f1 } } : {}),
      }),
    );

  inputs.push(
    makeEvent(
      "run.started",
      { ...fields(1, 0), id: `started-${runId}` },
      { source: { bucket, name, generation: "1" }, input: `gs://${bucket}/${name}` },
    ),
  );
  inputs.push(
    makeEvent("data.prepared", fields(1, 30), {
      dataDir,
      splits: {
        train: { uri: `${dataDir}/train.jsonl`, rows: 1600 },
        validation: { uri: `${dataDir}/validation.jsonl`, rows: 200 },
        test: { uri: `${dataDir}/test.jsonl`, rows: 200 },
      },
      statsUri: `${dataDir}/stats.json`,
      rejectedUri: `${dataDir}/rejected.jsonl`,
      rowsRead: 2003,
      rowsKept: 2000,
      rowsRejected: 3,
      fingerprint: stats.fingerprint,
    }),
  );
  progress("tune", 1, "trial", 1, 3, 0.81);
  progress("tune", 1, "trial", 2, 3, 0.62);
  progress("tune", 1, "trial", 3, 3, 0.86);
  inputs.push(
    makeEvent("tuning.completed", fields(1, 60), {
      outDir: `${base}/tune/a1`,
      studyUri: `${base}/tune/a1/study.db`,
      trials: 3,
      completedTrials: 2,
      prunedTrials: 1,
      bestParams: PARAMS,
      bestValue: 0.86,
    }),
  );

  const trainAttempts = scenario === "blocked_bias" ? 2 : scenario === "failed" ? 0 : 1;
  const evaluations: { metrics: MetricsReport; slices: SliceReport; analysis: ErrorAnalysis }[] = [];
  if (scenario === "failed") {
    inputs.push(
      makeEvent("job.failed", fields(1, 40), {
        step: "train",
        jobName: `sp-${runId}-train-a1`,
        error: "the base model cannot be loaded: no such model tiny-missing",
        retryable: false,
        exitCode: 2,
      }),
    );
  }
  for (let a = 1; a <= trainAttempts; a++) {
    const history = [1, 2, 3].map((epoch) => ({
      epoch,
      trainLoss: 0.9 - 0.2 * epoch - 0.02 * a,
      examplesPerSecond: 120,
      accuracy: 0.8 + 0.02 * epoch,
      weightedF1: 0.8 + 0.02 * epoch + 0.005 * (a - 1),
      macroF1: 0.7 + 0.02 * epoch,
    }));
    await write(`train/a${a}/training.json`, { history, bestEpoch: 3, device: "cpu" });
    const stateNow = replay();
    const mitigation = a > 1 ? stateNow.mitigation : null;
    const metadata: ModelMetadata = {
      formatVersion: 1,
      runId,
      trainAttempt: a,
      family: "roberta",
      baseModel: "tiny",
      maxLength: 128,
      textTemplate: "title + ' ' + text",
      labels: ["NEGATIVE", "NEUTRAL", "POSITIVE"],
      inputs: ["input_ids", "attention_mask", "features"],
      outputs: ["logits"],
      features: stats.featureStats,
      params: PARAMS,
      mitigation,
      dataFingerprint: stats.fingerprint,
      validation: { accuracy: 0.86, weightedF1: history[2]!.weightedF1, macroF1: 0.76 },
      parity: { maxAbsLogitDiff: 1e-6, int8Agreement: 0.99, examples: 200 },
      createdAt: new Date(t0).toISOString(),
    };
    await write(`train/a${a}/model/metadata.json`, metadata);
    for (const epoch of [1, 2, 3]) progress("train", a, "epoch", epoch, 3, history[epoch - 1]!.weightedF1);
    inputs.push(
      makeEvent("training.completed", fields(a, 90), {
        modelDir: `${base}/train/a${a}/model`,
        params: PARAMS,
        validation: metadata.validation,
        epochsRun: 3,
        mitigation,
      }),
    );

    const evaluation = evaluationFiles(scenario, runId, a, `${base}/train/a${a}/model`, config);
    evaluations.push(evaluation);
    await write(`evaluate/a${a}/metrics.json`, evaluation.metrics);
    await write(`evaluate/a${a}/slices.json`, evaluation.slices);
    await write(`evaluate/a${a}/analysis.json`, evaluation.analysis);
    progress("evaluate", a, "batch", 2, 4);
    progress("evaluate", a, "batch", 4, 4);
    const m = evaluation.metrics;
    inputs.push(
      makeEvent("evaluation.completed", fields(a, 20), {
        modelDir: `${base}/train/a${a}/model`,
        metricsUri: `${base}/evaluate/a${a}/metrics.json`,
        slicesUri: `${base}/evaluate/a${a}/slices.json`,
        testRows: m.testRows,
        overall: {
          accuracy: m.metrics.accuracy,
          weightedF1: m.metrics.weightedF1,
          macroF1: m.metrics.macroF1,
        },
        slices: evaluation.slices.slices.map(
          ({ column, value, support, share, f1, ratio, f1Interval, ratioInterval }): SliceResult => ({
            column,
            value,
            support,
            share,
            f1,
            ratio,
            f1Interval,
            ratioInterval,
          }),
        ),
        champion: m.champion
          ? {
              modelVersion: m.champion.modelVersion,
              modelUri: m.champion.modelUri,
              overall: {
                accuracy: m.champion.metrics.accuracy,
                weightedF1: m.champion.metrics.weightedF1,
                macroF1: m.champion.metrics.macroF1,
              },
            }
          : null,
      }),
    );
  }
  if (scenario === "promoted") {
    inputs.push(
      makeEvent("model.registered", fields(1, 2), {
        modelResource: "local/models/sentiment-classifier",
        version: "2",
        alias: "champion",
        artifactUri: `${base}/train/a1/model`,
      }),
    );
  }

  // The decision core turns the inputs into the state; what it publishes joins the log in order.
  function replay(): RunState {
    let state: RunState | null = null;
    for (const e of inputs) {
      const d = decide(state, e, config);
      if (d.kind === "applied") state = { ...d.state, outbox: [] };
    }
    return state!;
  }
  let state: RunState | null = null;
  const events: PipelineEvent[] = [];
  for (const e of inputs) {
    events.push(e);
    const d = decide(state, e, config);
    if (d.kind !== "applied") continue;
    for (const effect of d.effects)
      if (effect.kind === "publish") events.push(PipelineEvent.parse(effect.event));
    state = { ...d.state, outbox: [] };
  }
  await ledger.create(state!);
  await store.write(eventLogUri(bucket, runId), events.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const last = evaluations.at(-1) ?? evaluationFiles("promoted", runId, 1, "", config);
  return {
    root,
    config,
    store,
    ledger,
    runId,
    state: state!,
    events,
    metrics: last.metrics,
    slices: last.slices,
    analysis: last.analysis,
    stats,
  };
}

function splitStats(rows: number, byLabel: number[]): PreparedStats["splits"]["train"] {
  const k = rows / 200;
  return {
    rows,
    byLabel: { NEGATIVE: byLabel[0]!, NEUTRAL: byLabel[1]!, POSITIVE: byLabel[2]! },
    bySlice: {
      year: { "2021": 60 * k, "2022": 70 * k, "2023": 70 * k },
      main_category: {
        Books: 99 * k,
        Grocery: 30 * k,
        [TRICKY_CATEGORY]: 40 * k,
        unknown: 5 * k,
        Garden: 26 * k,
      },
    },
  };
}

function evaluationFiles(
  scenario: Scenario,
  runId: string,
  attempt: number,
  modelUri: string,
  config: PipelineConfig,
): { metrics: MetricsReport; slices: SliceReport; analysis: ErrorAnalysis } {
  const metrics = metricsOf(OVERALL_CONFUSION);
  const champion =
    scenario === "promoted"
      ? {
          modelVersion: "1",
          modelUri: "gs://local-bucket/runs/older-run-0000000000/train/a1/model",
          metrics: metricsOf([
            [36, 7, 7],
            [8, 16, 6],
            [5, 4, 111],
          ]),
        }
      : null;
  const report: MetricsReport = {
    runId,
    attempt,
    modelUri,
    testRows: metrics.support,
    metrics,
    classificationReport: "(see metrics)",
    champion,
    throughput: { reviewsPerSecond: 412.5, provider: "cpu (2 threads)" },
  };
  const overall = metrics.weightedF1;
  const slices = sliceSpecs(scenario).map((spec) => {
    const m = metricsOf(spec.confusion);
    const share = m.support / metrics.support;
    const f1 = m.weightedF1;
    const ratio = overall > 0 ? f1 / overall : 0;
    const result: SliceResult = {
      column: spec.column,
      value: spec.value,
      support: m.support,
      share,
      f1,
      ratio,
      f1Interval: { low: Math.max(0, f1 - 0.12), high: Math.min(1, f1 + 0.08) },
      ratioInterval: { low: Math.max(0, ratio - 0.14), high: ratio + 0.09 },
    };
    return { ...judgeSlice(result, overall, config.rules), metrics: m };
  });
  return {
    metrics: report,
    slices: {
      overallF1: overall,
      threshold: {
        minSliceShare: config.rules.minSliceShare,
        sliceF1Ratio: config.rules.sliceF1Ratio,
        requireSignificance: config.rules.requireSignificance,
      },
      bootstrap: { resamples: 1000, confidence: 0.95, seed: 42 },
      slices,
    },
    analysis: analysisOf(OVERALL_CONFUSION),
  };
}

/**
 * analysis.json by the evaluate job's own code, for test rows that follow the confusion matrix: each row is predicted
 * as its cell says, with a confidence that falls row by row, so the mistakes and bins are known. The first NEGATIVE
 * row predicted POSITIVE is the most confident mistake of its class and carries HOSTILE_REVIEW.
 */
export function analysisOf(confusion: number[][]): ErrorAnalysis {
  const rows: AnalysedRow[] = [];
  const probabilities: number[] = [];
  confusion.forEach((counts, truth) =>
    counts.forEach((n, predicted) => {
      for (let j = 0; j < n; j += 1) {
        const line = rows.length + 1;
        const hostile = truth === 0 && predicted === 2 && j === 0;
        rows.push({
          id: `row-${line}`,
          line,
          title: hostile ? "Do <b>not</b> buy" : `Review ${line}`,
          text: hostile ? HOSTILE_REVIEW : `Text of test row ${line}.`,
          labelId: truth,
        });
        const confidence = hostile ? 0.97 : 0.9 - (0.5 * j) / Math.max(1, n);
        probabilities.push(...[0, 1, 2].map((c) => (c === predicted ? confidence : (1 - confidence) / 2)));
      }
    }),
  );
  return errorAnalysis(rows, probabilities);
}
