// The evaluation core: the model under test and the registry's champion on the same test split, metrics, slices,
// both reports written to the attempt's folder, then evaluation.completed.
import { MetricsReport, SliceReport, type Metrics } from "../../schemas/metrics.ts";
import { coverageReason, sliceCoverage } from "../../schemas/slice-coverage.ts";
import { LABELS } from "../../schemas/names.ts";
import type { EvaluateJobInput } from "../../schemas/job-input.ts";
import type { EventData } from "../../events/catalogue.ts";
import { modelOfAnyRunProblem } from "../../events/artifact-uris.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import type { ModelRegistry, ModelVersion } from "../../platform/ports/model-registry.ts";
import type { ObjectStore } from "../../platform/ports/object-store.ts";
import { lineFromModelMetadata } from "../../platform/local/legacy-registry-migration.ts";
import { NonRetryableJobError, type JobEvents } from "../common/job-runtime.ts";
import {
  InvalidModelError,
  loadModel,
  softmax,
  type LoadedModel,
  type ModelSource,
  type SessionSettings,
} from "../inference/index.ts";
import { classificationReport } from "./classification-report.ts";
import { errorAnalysis } from "./error-analysis.ts";
import { metricsOf, summary } from "./metrics.ts";
import { runModel, type ModelRun } from "./model-run.ts";
import { evaluateSlices, MISSING_SLICE_VALUE, sliceReport } from "./slices.ts";
import { readTestSplit, type TestRow } from "./test-split.ts";
import { child, isGcsUri, writeText } from "./uri-io.ts";

export interface EvaluationDeps extends JobEvents {
  store: ObjectStore;
  /** The registry whose champion is evaluated beside the model; null when there is no registry to ask. */
  registry: ModelRegistry | null;
  log: Logger;
  /** Execution provider and threads (default: CUDA when available, else every core this process may use). */
  session?: SessionSettings;
}

export interface EvaluationOutcome {
  metricsUri: string;
  slicesUri: string;
  predictionsUri: string;
  analysisUri: string;
  metrics: MetricsReport;
  slices: SliceReport;
  completed: EventData<"evaluation.completed">;
}

/** Progress events per model: enough to watch, few enough not to flood the bus. */
const PROGRESS_STEPS = 20;

export async function runEvaluation(
  input: EvaluateJobInput,
  deps: EvaluationDeps,
): Promise<EvaluationOutcome> {
  const { store, log } = deps;
  const split = await readTestSplit(store, input.dataDir);
  const rows = split.rows;
  log.info("test split read", { rows: rows.length, uri: split.uri });
  for (const column of input.rules.sliceColumns) {
    if (!rows.some((r) => column in r.slices)) {
      log.warn(`no test row has the slice column ${column}: every row counts as "${MISSING_SLICE_VALUE}"`, {
        column,
      });
    }
  }

  // Only the champion of the model's own line is a fair comparison (same base model, same label scheme).
  let champion = deps.registry ? await deps.registry.getChampion(input.modelLine) : null;
  let legacyNote = "";
  if (!champion && deps.registry) {
    const legacy = await legacyChampionOfLine(deps.registry, input, store);
    champion = legacy.champion;
    legacyNote = legacy.note;
  }
  log.info(
    champion
      ? `champion of line ${input.modelLine}: version ${champion.version}${legacyNote}`
      : `first of its line ${input.modelLine}: no champion to compare with${legacyNote}`,
    { modelLine: input.modelLine },
  );
  const models = champion ? 2 : 1;
  const batchesPerModel = Math.ceil(rows.length / input.evaluation.batchSize);
  const totalBatches = batchesPerModel * models;
  const every = Math.max(1, Math.ceil(batchesPerModel / PROGRESS_STEPS));
  const progressFrom = (offset: number, label: string) => async (done: number, total: number) => {
    if (done % every === 0 || done === total)
      await deps.progress("batch", offset + done, totalBatches, label);
  };

  const model = await open(input.modelDir, store, "the model under test", input, deps);
  if (input.evaluation.onnx === "int8" && model.file !== "model.int8.onnx") {
    log.warn(
      `evaluating ${model.file}: ${model.metadata.quantization?.reason ?? "the int8 export is not served"}`,
    );
  }
  let run: ModelRun;
  try {
    run = await runModel(model, rows, {
      batchSize: input.evaluation.batchSize,
      dataFeatureStats: split.stats.featureStats,
      onBatch: progressFrom(0, `scoring the model under test (${model.file})`),
    });
  } finally {
    await model.release();
  }
  const reviewsPerSecond = rows.length / Math.max(run.seconds, 1e-9);
  log.info("model evaluated", {
    rows: rows.length,
    seconds: run.seconds,
    reviewsPerSecond,
    provider: model.provider,
    threads: model.threads,
  });
  if (model.metadata.dataFingerprint !== split.stats.fingerprint) {
    log.warn("the model was trained on other prepared data than this test split's", {
      modelFingerprint: model.metadata.dataFingerprint,
      dataFingerprint: split.stats.fingerprint,
    });
  }

  const yTrue = Uint8Array.from(rows, (r) => r.labelId);
  const metrics = metricsOf(yTrue, run.predictions, LABELS);
  const championReport = champion
    ? await evaluateChampion(champion, rows, input, split.stats.featureStats, deps, (label) =>
        progressFrom(batchesPerModel, label),
      )
    : null;

  const slices = evaluateSlices({
    yTrue,
    yPred: run.predictions,
    sliceValues: rows.map((r) => r.slices),
    labels: LABELS,
    overall: metrics,
    rules: input.rules,
    evaluation: input.evaluation,
    championPred: championReport?.predictions ?? null,
  });
  const slicesReport = SliceReport.parse(
    sliceReport(
      slices,
      metrics.weightedF1,
      input.rules,
      input.evaluation,
      championReport
        ? { modelVersion: championReport.modelVersion, overallF1: championReport.metrics.weightedF1 }
        : null,
    ),
  );
  const metricsReport = MetricsReport.parse({
    runId: input.runId,
    attempt: input.attempt,
    modelUri: input.modelDir,
    modelFile: model.file,
    testRows: rows.length,
    metrics,
    classificationReport: classificationReport(metrics, LABELS),
    champion: championReport
      ? {
          modelVersion: championReport.modelVersion,
          modelUri: championReport.modelUri,
          metrics: championReport.metrics,
        }
      : null,
    throughput: {
      reviewsPerSecond,
      provider: model.provider === "cuda" ? "cuda" : `cpu (${model.threads} threads)`,
    },
  });

  const metricsUri = child(input.outDir, "metrics.json");
  const slicesUri = child(input.outDir, "slices.json");
  const predictionsUri = child(input.outDir, "predictions.jsonl");
  const analysisUri = child(input.outDir, "analysis.json");
  const probabilities = probabilitiesOf(run, rows.length);
  await writeText(store, predictionsUri, predictionLines(rows, run, probabilities), "application/x-ndjson");
  await writeText(
    store,
    analysisUri,
    `${JSON.stringify(errorAnalysis(rows, probabilities), null, 2)}\n`,
    "application/json",
  );
  await writeText(store, metricsUri, `${JSON.stringify(metricsReport, null, 2)}\n`, "application/json");
  await writeText(store, slicesUri, `${JSON.stringify(slicesReport, null, 2)}\n`, "application/json");

  const completed: EventData<"evaluation.completed"> = {
    modelDir: input.modelDir,
    metricsUri,
    slicesUri,
    testRows: rows.length,
    overall: summary(metrics),
    slices: slicesReport.slices.map((s) => ({
      column: s.column,
      value: s.value,
      ...(s.kind ? { kind: s.kind } : {}),
      ...(s.where ? { where: s.where } : {}),
      support: s.support,
      share: s.share,
      f1: s.f1,
      ratio: s.ratio,
      f1Interval: s.f1Interval,
      ratioInterval: s.ratioInterval,
    })),
    champion: championReport
      ? {
          modelVersion: championReport.modelVersion,
          modelUri: championReport.modelUri,
          overall: summary(championReport.metrics),
        }
      : null,
    modelLine: input.modelLine,
  };
  await deps.emit("evaluation.completed", completed);
  const biased = slicesReport.slices.filter((s) => s.biased);
  const unjudged = sliceCoverage(
    slicesReport.slices.map((s) => ({ ...s, judged: s.judged === true })),
    input.rules.sliceColumns,
  ).unjudged;
  if (unjudged.length > 0)
    log.warn(
      `bias check: ${coverageReason({ judged: 0, columns: unjudged, unjudged }, input.rules, rows.length)}`,
      {
        unjudgedColumns: unjudged.map((c) => c.column),
      },
    );
  log.info("evaluation completed", {
    judgedSlices: slicesReport.slices.filter((s) => s.judged).length,
    accuracy: metrics.accuracy,
    weightedF1: metrics.weightedF1,
    macroF1: metrics.macroF1,
    biasedSlices: biased.length,
    significantSlices: biased.filter((s) => s.significant).length,
    championWeightedF1: championReport?.metrics.weightedF1 ?? null,
  });
  return {
    metricsUri,
    slicesUri,
    predictionsUri,
    analysisUri,
    metrics: metricsReport,
    slices: slicesReport,
    completed,
  };
}

/**
 * `predictions.jsonl`, for error analysis: one line per test row in file order with its id, line, true and
 * predicted label and the class probabilities. No review text (it is in the split, and never goes to logs).
 */
function predictionLines(rows: readonly TestRow[], run: ModelRun, all: Float64Array): string {
  const k = LABELS.length;
  return rows
    .map((r, i) => {
      const probabilities = Array.from(all.subarray(i * k, (i + 1) * k), (p) => Number(p.toFixed(6)));
      const predicted = LABELS[run.predictions[i]!]!;
      return `${JSON.stringify({ id: r.id, line: r.line, label: LABELS[r.labelId], predicted, probabilities })}\n`;
    })
    .join("");
}

/** Class probabilities of every row, row-major: the softmax of the model's logits. */
function probabilitiesOf(run: ModelRun, rows: number): Float64Array {
  const k = LABELS.length;
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows; i += 1)
    out.set(softmax(Array.from(run.logits.subarray(i * k, (i + 1) * k))), i * k);
  return out;
}

/** The champion on the same rows; a champion that cannot be evaluated fails the job, never a silent pass. */
async function evaluateChampion(
  champion: ModelVersion,
  rows: readonly TestRow[],
  input: EvaluateJobInput,
  dataFeatureStats: Parameters<typeof runModel>[2]["dataFeatureStats"],
  deps: EvaluationDeps,
  progress: (label: string) => (done: number, total: number) => Promise<void>,
): Promise<{ modelVersion: string; modelUri: string; metrics: Metrics; predictions: Uint8Array }> {
  const what = `the champion (version ${champion.version})`;
  // The registry is read, not trusted: its model must be some run's trained model in this pipeline's bucket.
  const foreign = modelOfAnyRunProblem(champion.artifactUri);
  const bucket = /^gs:\/\/([^/]+)\//.exec(input.runDir)?.[1];
  if (foreign || !champion.artifactUri.startsWith(`gs://${bucket}/`))
    throw new NonRetryableJobError(
      `${what} cannot be evaluated: its artifact URI ${foreign ?? `${champion.artifactUri.slice(0, 200)} is not in the pipeline's bucket ${bucket}`}`,
    );
  const model = await open(champion.artifactUri, deps.store, what, input, deps);
  try {
    const run = await runModel(model, rows, {
      batchSize: input.evaluation.batchSize,
      dataFeatureStats,
      onBatch: progress(`scoring the champion, version ${champion.version} (${model.file})`),
    });
    if (run.rescaled)
      deps.log.info("champion features rescaled to its own training statistics", {
        version: champion.version,
      });
    const metrics = metricsOf(
      Uint8Array.from(rows, (r) => r.labelId),
      run.predictions,
      LABELS,
    );
    deps.log.info("champion evaluated", {
      version: champion.version,
      weightedF1: metrics.weightedF1,
      seconds: run.seconds,
    });
    return {
      modelVersion: champion.version,
      modelUri: champion.artifactUri,
      metrics,
      predictions: run.predictions,
    };
  } finally {
    await model.release();
  }
}

/** Opens the export the input names (int8 or fp32), the same for the model under test and the champion. */
async function open(
  dir: string,
  store: ObjectStore,
  what: string,
  input: EvaluateJobInput,
  deps: EvaluationDeps,
): Promise<LoadedModel> {
  const source: ModelSource = isGcsUri(dir) ? { store, uri: dir } : dir;
  try {
    const model = await loadModel(source, { ...deps.session, quantized: input.evaluation.onnx === "int8" });
    deps.log.info(`loaded ${what}`, {
      uri: dir,
      file: model.file,
      provider: model.provider,
      threads: model.threads,
      ...(model.fallbackReason ? { cpuBecause: model.fallbackReason } : {}),
    });
    return model;
  } catch (err) {
    if (err instanceof InvalidModelError) {
      throw new NonRetryableJobError(`${what} cannot be evaluated: ${err.message}`);
    }
    throw err;
  }
}

/**
 * A registry that held one model before lines (Vertex, upgraded) has its champion there: when that champion's base
 * model gives this line (under the config's cut-offs, as the local migration assumes), it is this line's champion
 * until the line has one of its own; otherwise its first model would be promoted without a comparison.
 */
async function legacyChampionOfLine(
  registry: ModelRegistry,
  input: EvaluateJobInput,
  store: ObjectStore,
): Promise<{ champion: ModelVersion | null; note: string }> {
  if (!registry.legacyChampion || !input.labels) return { champion: null, note: "" };
  const legacy = await registry.legacyChampion();
  if (!legacy) return { champion: null, note: "" };
  const found = await lineFromModelMetadata((uri) => store.read(uri), input.labels)({ ...legacy });
  if ("line" in found && found.line === input.modelLine)
    return {
      champion: { ...legacy, line: input.modelLine },
      note: ` of ${legacy.modelResource}, registered before model lines`,
    };
  const why = "line" in found ? `its line is ${found.line}` : found.reason;
  return {
    champion: null,
    note: ` (the champion registered before model lines, version ${legacy.version}, is not compared: ${why})`,
  };
}
