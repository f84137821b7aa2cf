// What the pipeline records in MLflow for its own events: in the model line's experiment, a parent run per pipeline
// run (outcome, decisions as tags, the final test scores) and, nested under it, an evaluation run per evaluate attempt
// (test metrics, per-class and per-slice F1, bias findings) beside the trainer's trial and training runs.
import type { PipelineConfig } from "../schemas/config.ts";
import { MetricsReport, SliceReport, type Metrics } from "../schemas/metrics.ts";
import { ModelMetadata } from "../schemas/model.ts";
import type { RunState } from "../schemas/run-state.ts";
import type { EventOf, PipelineEvent } from "../events/catalogue.ts";
import { blockingFindings, judgeSlices } from "../schemas/bias-rule.ts";
import type { Logger } from "../platform/ports/logger.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import type { RunLedger } from "../platform/ports/run-ledger.ts";
import { readJson } from "../report/run-files.ts";
import { runDurations } from "../functions/core/run-durations.ts";
import { countOf } from "../schemas/text.ts";
import { displayLocation, reportUri } from "../report/report-location.ts";
import type { ExperimentTracker, Metric, TrackedExperiment, TrackedRun } from "./experiment-tracker.ts";
import {
  experimentName,
  PIPELINE_STEP,
  runExperimentNames,
  runTrackingLine,
  type RunLines,
  PARENT_RUN_TAG,
  retriggerTagKey,
  sliceKeys,
  snakeKeyPart,
} from "../schemas/mlflow-names.ts";
import { ensurePipelineRun, mlflowLocationUri, type MlflowLocation } from "./pipeline-run.ts";

export interface RunTrackingDeps {
  tracker: ExperimentTracker;
  store: ObjectStore;
  ledger: RunLedger;
  config: PipelineConfig;
  log: Logger;
}

/** Event types that change what MLflow shows; the rest are not tracked. */
export const TRACKED_EVENTS = [
  "run.started",
  "evaluation.completed",
  "run.retriggered",
  "run.completed",
] as const satisfies readonly PipelineEvent["type"][];

export function isTracked(event: PipelineEvent): boolean {
  return (TRACKED_EVENTS as readonly string[]).includes(event.type);
}

/** Records one event. Idempotent: a redelivered event finds what it wrote before and changes nothing new. */
export async function trackEvent(deps: RunTrackingDeps, event: PipelineEvent): Promise<void> {
  switch (event.type) {
    case "run.started":
      await experimentOf(deps, event);
      return;
    case "evaluation.completed":
      await trackEvaluation(deps, event);
      return;
    case "run.retriggered":
      await trackRetrigger(deps, event);
      return;
    case "run.completed":
      await trackCompletion(deps, event);
      return;
    default:
      return;
  }
}

interface Tracked {
  experiment: TrackedExperiment;
  /** The pipeline run's parent run. */
  parent: TrackedRun;
  lines: RunLines;
  /** The run's state as it was read to place it (null before the run has one). */
  state: RunState | null;
}

async function experimentOf(deps: RunTrackingDeps, event: PipelineEvent): Promise<Tracked> {
  const state = (await deps.ledger.get(event.runId))?.state;
  // The upload may name the line (its model-line metadata): the run.started event carries it before any state does.
  // Once training completed, the run's records follow its model into the line the model joined.
  const lines: RunLines = {
    modelLine: state?.modelLine,
    uploadModelLine: event.type === "run.started" ? event.data.modelLine : state?.uploadModelLine,
  };
  const line = runTrackingLine(deps.config, lines);
  const experiment = await deps.tracker.ensureExperiment(experimentName(line), {
    pipeline: "sentiment-pipeline",
    model_line: line,
  });
  // The trainer may have created the experiment first, without our tags.
  if (experiment.tags.model_line !== line)
    await deps.tracker.setExperimentTags(experiment.experimentId, {
      pipeline: "sentiment-pipeline",
      model_line: line,
    });
  const started = state?.createdAt ?? event.time;
  const tags: Record<string, string> = { pipeline: "sentiment-pipeline", model_line: line };
  const input = event.type === "run.started" ? event.data.input : state?.artifacts.input;
  if (input) tags.input = input;
  const parent = await ensurePipelineRun(deps.tracker, experiment, event.runId, Date.parse(started), tags);
  // The trainer may have created the parent run first, without these.
  const missing = Object.fromEntries(Object.entries(tags).filter(([k, v]) => parent.tags[k] !== v));
  if (Object.keys(missing).length > 0) await deps.tracker.logRunData(parent.runId, { tags: missing });
  // Where the run is in MLflow, for the report's link: written when the run starts, again when it ends.
  if (event.type === "run.started" || event.type === "run.completed") {
    const location: MlflowLocation = {
      trackingUri: deps.tracker.uri,
      experimentName: experiment.name,
      experimentId: experiment.experimentId,
      parentRunId: parent.runId,
    };
    await deps.store.write(
      mlflowLocationUri(deps.store.bucket, event.runId),
      `${JSON.stringify(location, null, 2)}\n`,
      { contentType: "application/json" },
    );
  }
  return { experiment, parent, lines, state: state ?? null };
}

async function trackEvaluation(deps: RunTrackingDeps, event: EventOf<"evaluation.completed">): Promise<void> {
  const { tracker, store, config } = deps;
  const { experiment, parent } = await experimentOf(deps, event);
  const attempt = String(event.attempt);
  const existing = await tracker.findRuns(experiment.experimentId, {
    run_id: event.runId,
    step: "evaluate",
    attempt,
  });
  const done = existing.find((r) => r.status === "FINISHED");
  if (done) return;
  const time = Date.parse(event.time);
  const run =
    existing[0] ??
    (await tracker.createRun(
      experiment.experimentId,
      `evaluation-a${attempt}`,
      { run_id: event.runId, step: "evaluate", attempt, event_id: event.id, [PARENT_RUN_TAG]: parent.runId },
      time,
    ));

  const [metricsFile, slicesFile, metadataFile] = await Promise.all([
    readJson(store, event.data.metricsUri, MetricsReport),
    readJson(store, event.data.slicesUri, SliceReport),
    readJson(store, `${event.data.modelDir.replace(/\/+$/, "")}/metadata.json`, ModelMetadata),
  ]);
  for (const f of [metricsFile, slicesFile, metadataFile])
    if (!f.ok)
      deps.log.warn(`MLflow: ${f.uri} is ${f.reason}; the evaluation run records what the event carries`);

  const metrics: Metric[] = [];
  const metric = (key: string, value: number) => {
    if (Number.isFinite(value)) metrics.push({ key, value, timestamp: time, step: 0 });
  };
  const overall = event.data.overall;
  metric("test_accuracy", overall.accuracy);
  metric("test_weighted_f1", overall.weightedF1);
  metric("test_macro_f1", overall.macroF1);
  metric("test_rows", event.data.testRows);
  if (metricsFile.ok) {
    const m: Metrics = metricsFile.value.metrics;
    metric("test_weighted_precision", m.weightedPrecision);
    metric("test_weighted_recall", m.weightedRecall);
    metric("test_macro_precision", m.macroPrecision);
    metric("test_macro_recall", m.macroRecall);
    for (const [label, c] of Object.entries(m.perClass)) {
      metric(classMetricKey(label, "f1"), c.f1);
      metric(classMetricKey(label, "precision"), c.precision);
      metric(classMetricKey(label, "recall"), c.recall);
      metric(classMetricKey(label, "support"), c.support);
    }
    if (metricsFile.value.throughput)
      metric("test_reviews_per_second", metricsFile.value.throughput.reviewsPerSecond);
  }
  if (event.data.champion) metric("test_champion_weighted_f1", event.data.champion.overall.weightedF1);

  // The bias findings as the decision core judges them, from the event: the same numbers advance-run saw.
  const findings = judgeSlices(event.data.slices, overall.weightedF1, config.rules);
  const blocking = blockingFindings(findings, config.rules);
  const keys = sliceKeys(findings);
  findings.forEach((f, i) => {
    const key = keys[i]!;
    metric(key("f1"), f.f1);
    metric(key("ratio"), f.ratio);
    metric(key("share"), f.share);
    if (f.f1Interval) {
      metric(key("f1_low"), f.f1Interval.low);
      metric(key("f1_high"), f.f1Interval.high);
    }
  });
  metric("test_biased_slices", findings.filter((f) => f.biased).length);
  metric("test_blocking_slices", blocking.length);
  metric("test_significant_biased_slices", findings.filter((f) => f.significant).length);

  const params: Record<string, string> = {
    model_dir: event.data.modelDir,
    rules_f1_min: String(config.rules.f1Min),
    rules_slice_f1_ratio: String(config.rules.sliceF1Ratio),
    rules_min_slice_share: String(config.rules.minSliceShare),
    rules_min_slice_rows: String(config.rules.minSliceRows ?? "none"),
    rules_require_significance: String(config.rules.requireSignificance),
    rules_slice_columns: config.rules.sliceColumns.join(","),
    champion_version: event.data.champion?.modelVersion ?? "none",
  };
  if (metricsFile.ok && metricsFile.value.modelFile) params.model_file = metricsFile.value.modelFile;
  if (slicesFile.ok) {
    params.bootstrap_resamples = String(slicesFile.value.bootstrap.resamples);
    params.bootstrap_confidence = String(slicesFile.value.bootstrap.confidence);
  }
  if (metadataFile.ok) {
    const md = metadataFile.value;
    params.model_family = md.family;
    params.model_base = md.baseModel;
    params.model_train_attempt = String(md.trainAttempt);
    params.mitigation = md.mitigation ? "reweight" : "none";
  }

  const describe = (f: (typeof findings)[number]) =>
    `${f.column}=${f.value} (F1 ${f.f1.toFixed(3)}, ratio ${f.ratio.toFixed(3)}, share ${(f.share * 100).toFixed(1)}%${f.significant ? ", significant" : ""})`;
  const tags: Record<string, string> = {
    "bias.verdict": blocking.length > 0 ? "biased" : "not biased",
    "bias.blocking_slices": blocking.length > 0 ? blocking.map(describe).join("; ") : "none",
    f1_gate: overall.weightedF1 < config.rules.f1Min ? "below" : "passed",
    "mlflow.note.content": evaluationNote(event, findings, config),
  };

  await tracker.logRunData(run.runId, { params, metrics, tags });
  for (const [path, file] of [
    ["metrics.json", metricsFile],
    ["slices.json", slicesFile],
  ] as const) {
    if (!file.ok) continue;
    try {
      await tracker.uploadArtifact(run, path, `${JSON.stringify(file.value, null, 2)}\n`, "application/json");
    } catch (err) {
      deps.log.warn(`MLflow: could not store ${path} with the evaluation run: ${(err as Error).message}`);
    }
  }
  await tracker.endRun(run.runId, "FINISHED", Math.max(time, Date.now()));
  // The parent run holds the latest evaluation's scores, so that pipeline runs compare side by side in the experiment.
  await tracker.logRunData(parent.runId, {
    metrics: metrics
      .filter((m) => PARENT_METRICS.includes(m.key))
      .map((m) => ({ ...m, step: event.attempt })),
  });
  // The decision on these numbers, when advance-run has made it already: run.completed may have been tracked while
  // this evaluation was still being recorded (observers run side by side), and then it found no run to tag.
  const state = (await deps.ledger.get(event.runId))?.state;
  if (state) await tagDecisions(deps, state, [{ ...run, tags: { ...run.tags, event_id: event.id } }]);
}

/** The evaluation scores the parent run repeats: enough to sort a line's pipeline runs. */
const PARENT_METRICS = [
  "test_weighted_f1",
  "test_macro_f1",
  "test_accuracy",
  "test_rows",
  "test_blocking_slices",
];

function evaluationNote(
  event: EventOf<"evaluation.completed">,
  findings: ReturnType<typeof judgeSlices>,
  config: PipelineConfig,
): string {
  const f = (x: number) => x.toFixed(3);
  const threshold = config.rules.sliceF1Ratio * event.data.overall.weightedF1;
  const judged = findings.filter((s) => s.judged);
  const rows = judged
    .sort((a, b) => a.ratio - b.ratio)
    .map(
      (s) =>
        `| ${s.column} | ${s.value} | ${(s.share * 100).toFixed(1)}% | ${f(s.f1)} | ${s.f1Interval ? `${f(s.f1Interval.low)}–${f(s.f1Interval.high)}` : "n/a"} | ${f(s.ratio)} | ${s.biased ? (s.significant ? "**biased (significant)**" : "**biased**") : "ok"} |`,
    );
  return [
    `Evaluation attempt ${event.attempt} of pipeline run \`${event.runId}\` on ${event.data.testRows} test rows.`,
    "",
    `Weighted F1 **${f(event.data.overall.weightedF1)}** (gate ${f(config.rules.f1Min)}), macro F1 ${f(event.data.overall.macroF1)}, accuracy ${f(event.data.overall.accuracy)}.`,
    event.data.champion
      ? `Champion version ${event.data.champion.modelVersion}: weighted F1 ${f(event.data.champion.overall.weightedF1)} on the same split.`
      : "No champion to compare against.",
    "",
    `Slices holding at least ${(config.rules.minSliceShare * 100).toFixed(0)}% of the test rows${config.rules.minSliceRows != null ? ` or ${countOf(config.rules.minSliceRows, "row")}` : ""} are judged: biased when F1 < ${f(config.rules.sliceF1Ratio)} × overall = ${f(threshold)}.`,
    "",
    "| column | value | share | F1 | 95% interval | ratio | verdict |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

async function trackRetrigger(deps: RunTrackingDeps, event: EventOf<"run.retriggered">): Promise<void> {
  const { parent, state } = await experimentOf(deps, event);
  // The decision that restarted the run is in the trail, keyed by the event that caused it, with the launched attempt.
  const entry = state?.trail.find((t) => t.eventId === event.causationId && t.step === event.data.from);
  const key = retriggerTagKey(event.data.from, entry?.attempt ?? null, event.time);
  await deps.tracker.logRunData(parent.runId, {
    tags: {
      [key]: `${event.data.reason}: ${event.data.detail}`,
      ...(state ? { "mlflow.note.content": runNote(state, deps.store) } : {}),
    },
  });
  // A run retriggered after it completed is working again: its parent run says so until it completes again.
  if (parent.status !== "RUNNING") await deps.tracker.reopenRun(parent.runId);
}

async function trackCompletion(deps: RunTrackingDeps, event: EventOf<"run.completed">): Promise<void> {
  const { experiment, parent, lines, state } = await experimentOf(deps, event);
  const tags: Record<string, string> = {
    outcome: event.data.outcome,
    "outcome.reason": event.data.reasons.at(-1) ?? "",
    report: displayLocation(deps.store, reportUri(deps.store.bucket, event.runId)),
  };
  if (state) {
    tags.attempts = Object.entries(state.steps)
      .filter(([, s]) => s.attempt > 0)
      .map(([step, s]) => `${step} a${s.attempt}`)
      .join(", ");
    tags["budgets.used"] =
      `retune ${state.budgets.retunesUsed}, mitigation ${state.budgets.mitigationsUsed}, manual ${state.budgets.manualRetriggersUsed}`;
    if (state.artifacts.registration) tags.registered_version = state.artifacts.registration.version;
    tags["mlflow.note.content"] = runNote(state, deps.store);
  }
  // MLflow's own duration runs from the first start to the last end; the time the run worked, and the time it sat
  // completed before a retrigger, are kept apart (as the report, `runs` and `status` show them).
  const metrics: Metric[] = [];
  if (state) {
    const { workingMs, idleMs } = runDurations(state, new Date(event.time));
    const at = Date.parse(event.time);
    metrics.push(
      { key: "working_seconds", value: workingMs / 1000, timestamp: at, step: 0 },
      { key: "idle_seconds", value: idleMs / 1000, timestamp: at, step: 0 },
    );
  }
  await deps.tracker.logRunData(parent.runId, { tags, metrics });
  const status = event.data.outcome === "failed" ? "FAILED" : "FINISHED";
  if (parent.status !== status) await deps.tracker.endRun(parent.runId, status, Date.parse(event.time));
  // A search across base models leaves trials in another line's experiment, under a parent run of their own: it ends
  // with the run too, and says where the run's model and evaluations are.
  for (const name of runExperimentNames(deps.config, lines)) {
    if (name === experiment.name) continue;
    const other = await deps.tracker.getExperimentByName(name);
    if (!other) continue;
    for (const p of await deps.tracker.findRuns(other.experimentId, {
      run_id: event.runId,
      step: PIPELINE_STEP,
    })) {
      await deps.tracker.logRunData(p.runId, { tags: { ...tags, run_experiment: experiment.name } });
      if (p.status !== status) await deps.tracker.endRun(p.runId, status, Date.parse(event.time));
    }
  }

  // Each evaluation run learns what the pipeline decided on its numbers.
  if (!state) return;
  const runs = await deps.tracker.findRuns(experiment.experimentId, {
    run_id: event.runId,
    step: "evaluate",
  });
  await tagDecisions(deps, state, runs);
}

/** Tags evaluation runs with the decisions the trail holds for their events (idempotent). */
async function tagDecisions(deps: RunTrackingDeps, state: RunState, runs: TrackedRun[]): Promise<void> {
  for (const run of runs) {
    const decisions = state.trail.filter((t) => t.eventId === run.tags.event_id).map((t) => t.decision);
    if (decisions.length > 0 && run.tags.decision !== decisions.join("; "))
      await deps.tracker.logRunData(run.runId, { tags: { decision: decisions.join("; ") } });
  }
}

/** The experiment's description in MLflow's UI: outcome and the decision trail, newest last. */
export function runNote(state: RunState, store: ObjectStore): string {
  const start = Date.parse(state.createdAt);
  const since = (at: string) => `+${Math.max(0, (Date.parse(at) - start) / 1000).toFixed(1)} s`;
  const status =
    state.status === "completed" ? `**${state.outcome}**` : `running (${state.currentStep ?? "?"})`;
  return [
    `Pipeline run \`${state.runId}\` from \`${state.artifacts.input}\`: ${status}.`,
    "",
    "| when | step | decision |",
    "| --- | --- | --- |",
    ...state.trail.map(
      (t) =>
        `| ${since(t.at)} | ${t.step ? `${t.step} a${t.attempt}` : "run"} | ${t.decision.replace(/\|/g, "\\|")} |`,
    ),
    "",
    `Report: \`${displayLocation(store, reportUri(store.bucket, state.runId))}\``,
  ].join("\n");
}

/** The metric key of one class's score on the test split: `test_f1_negative`. */
export function classMetricKey(label: string, what: "f1" | "precision" | "recall" | "support"): string {
  return `test_${what}_${snakeKeyPart(label)}`;
}
