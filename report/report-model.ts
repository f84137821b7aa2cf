// What the report says, derived from the run's files: the verdict, the trail, each section's numbers. Pure.
import { pipelineRunUrl, type MlflowLocation } from "../tracking/pipeline-run.ts";
import { LABELS, STEPS, type Step } from "../schemas/names.ts";
import type { PipelineConfig } from "../schemas/config.ts";
import type { Metrics, MetricsReport, SliceReport } from "../schemas/metrics.ts";
import type { ModelMetadata } from "../schemas/model.ts";
import type { ErrorAnalysis } from "../schemas/error-analysis.ts";
import type { PreparedStats } from "../schemas/review.ts";
import type { Outcome } from "../events/catalogue.ts";
import type { EvaluateAttempt, Loaded, RunFiles, TrialRow } from "./run-files.ts";
import {
  largestFirst,
  MAX_CHARTED_VALUES,
  type EpochPoint,
  type SliceCount,
  type SlicePoint,
  type SplitCounts,
  type TrialPoint,
} from "./charts.ts";
import { runDurations } from "../functions/core/run-durations.ts";
import { isJudgeable } from "../schemas/bias-rule.ts";
import {
  coverageHeadline,
  coverageReason,
  sliceCoverage,
  type SliceCoverage,
} from "../schemas/slice-coverage.ts";
import { sliceRows, type SliceRow, type SliceRunColumn } from "./slice-rows.ts";

export type Tone = "good" | "bad" | "warn" | "neutral";

export interface Verdict {
  outcome: Outcome | "running";
  tone: Tone;
  title: string;
  /** The decision that ended the run (or the latest one while it runs), in the pipeline's words. */
  reason: string;
  /** What the verdict cannot vouch for: the slices the bias check could not judge, and why. */
  caveat: string | null;
}

export interface Figure {
  label: string;
  value: string;
  note: string;
  tone: Tone;
}

export interface TrailRow {
  offset: string;
  step: string;
  event: string;
  decision: string;
  kind: "start" | "advance" | "retrigger" | "failure" | "outcome" | "register" | "manual" | "caveat";
}

export interface StepRow {
  step: Step;
  attempt: number;
  status: string;
  duration: string;
}

export interface EvaluationSummary {
  attempt: number;
  weightedF1: number | null;
  biased: string[];
  decision: string;
}

export interface SliceSection {
  column: string;
  chronological: boolean;
  points: SlicePoint[];
}

export interface ReportModel {
  runId: string;
  input: string;
  runUri: string;
  createdAt: string;
  /** Time the run worked (its steps), without the idle time between its end and a retrigger. */
  duration: string;
  /** Idle time between the run's end and a retrigger; null when there was none. */
  idle: string | null;
  /** The model line the trained model belongs to (its champion is the one compared with); null before training. */
  modelLine: string | null;
  generatedAt: string;
  verdict: Verdict;
  figures: Figure[];
  trail: TrailRow[];
  steps: StepRow[];
  /** Files that were expected but missing or invalid: shown, so a gap is never silent. */
  gaps: string[];
  /** The run's page in MLflow (its parent run in the model line's experiment), when it was tracked. */
  mlflow: { url: string; experimentName: string } | null;
  data: {
    stats: PreparedStats | null;
    splitCounts: SplitCounts[];
    /** `values`: how many values the column has; `counts` holds at most MAX_CHARTED_VALUES bars. */
    sliceCounts: { column: string; chronological: boolean; counts: SliceCount[]; values: number }[];
    rejectedByReason: { reason: string; rows: number }[];
    rejectedSample: { line: number; reason: string; field: string | null; message: string }[];
    rejectedMore: boolean;
    minSliceShare: number;
    minSliceRows: number | null;
  };
  tuning: {
    trials: TrialPoint[];
    table: (TrialRow & { round: string; model: string })[];
    /** `model`: what the best trial trained (its params say only the family). */
    best: { number: number | null; value: number; model: string; params: Record<string, string> } | null;
  };
  training: {
    points: EpochPoint[];
    attempts: { attempt: number; mitigation: string | null; bestEpoch: number | null }[];
  };
  evaluation: {
    attempt: number;
    report: MetricsReport;
    slices: SliceReport | null;
    /** Confident mistakes, calibration, precision-recall: null for runs evaluated before analysis.json existed. */
    analysis: ErrorAnalysis | null;
    sliceSections: SliceSection[];
    biasLine: number | null;
    judged: number;
    biased: number;
    coverage: SliceCoverage | null;
    /** "no slice could be judged", "no main_category slice could be judged", or null. */
    unjudged: string | null;
    /** Why, in the rule's terms. */
    unjudgedReason: string | null;
    /** Every slice, its F1 at each evaluation attempt (before and after mitigation) and the champion's. */
    table: { attempts: SliceRunColumn[]; rows: SliceRow[] };
  } | null;
  evaluations: EvaluationSummary[];
  champion: {
    version: string;
    challenger: Metrics;
    champion: Metrics;
    delta: number;
    tolerance: number;
  } | null;
  model: ModelMetadata | null;
  f1Min: number;
  rules: PipelineConfig["rules"];
}

const OUTCOME_VERDICT: Record<Outcome, { tone: Tone; title: string }> = {
  promoted: { tone: "good", title: "Promoted" },
  below_threshold: { tone: "bad", title: "Not promoted: F1 below the gate" },
  blocked_bias: { tone: "bad", title: "Not promoted: biased slices" },
  not_better: { tone: "warn", title: "Not promoted: not better than the champion" },
  failed: { tone: "bad", title: "Failed" },
};

/** Builds the report's content from what the run left; `now` only stamps when it was generated. */
export function buildReportModel(files: RunFiles, config: PipelineConfig, now: Date): ReportModel {
  const { state } = files;
  const gaps: string[] = [];
  const ok = <T>(l: Loaded<T> | null, what: string): T | null => {
    if (!l) return null;
    if (l.ok) return l.value;
    gaps.push(`${what}: ${l.uri} is ${l.reason}`);
    return null;
  };

  const stats = ok(files.stats, "data summary");
  const rejected = ok(files.rejected, "rejected rows");
  const finalEval = lastEvaluation(files.evaluate);
  for (const e of files.evaluate) {
    if (e !== finalEval) continue;
    ok(e.metrics, `evaluation a${e.attempt} metrics`);
    ok(e.slices, `evaluation a${e.attempt} slices`);
    // A missing analysis.json is an older run's, not a gap; an unreadable one is.
    if (e.analysis.ok || e.analysis.reason !== "missing") ok(e.analysis, `evaluation a${e.attempt} analysis`);
  }
  const trainAttempts = files.train.map((t) => ({
    attempt: t.attempt,
    report: ok(t.report, `training a${t.attempt} history`),
    metadata: ok(t.metadata, `model a${t.attempt} metadata`),
  }));
  const tuneAttempts = files.tune.map((t) => ({
    attempt: t.attempt,
    summary: ok(t.summary, `tuning a${t.attempt} summary`),
    trials: ok(t.trials, `tuning a${t.attempt} trials`),
  }));

  const metricsReport = finalEval?.metrics.ok ? finalEval.metrics.value : null;
  const sliceReport = finalEval?.slices.ok ? withJudged(finalEval.slices.value) : null;
  const coverage = sliceReport
    ? sliceCoverage(
        sliceReport.slices.map((x) => ({ ...x, judged: x.judged === true })),
        [
          ...new Set([
            ...config.rules.sliceColumns,
            ...sliceReport.slices.filter((x) => (x.kind ?? "value") === "value").map((x) => x.column),
          ]),
        ],
      )
    : null;
  const unjudged = coverage ? coverageHeadline(coverage) : null;
  const unjudgedReason =
    coverage && unjudged
      ? coverageReason(
          coverage,
          sliceReport!.threshold,
          sliceReport!.testRows ?? metricsReport?.testRows ?? 0,
        )
      : null;
  const evaluated = state.artifacts.evaluation;
  const weightedF1 = metricsReport?.metrics.weightedF1 ?? evaluated?.overall.weightedF1 ?? null;
  const model = [...trainAttempts].reverse().find((t) => t.metadata)?.metadata ?? null;

  const verdict = withCaveat(verdictOf(files), unjudged, unjudgedReason);
  const figures = headlineFigures(files, config, metricsReport, sliceReport, weightedF1, unjudged);

  return {
    runId: files.runId,
    input: state.artifacts.input,
    runUri: files.runUri,
    createdAt: state.createdAt,
    // Working time: the hours between the run's end and a retrigger are idle, shown apart.
    duration: formatDuration(runDurations(state, now).workingMs / 1000),
    modelLine: state.modelLine ?? null,
    idle: runDurations(state, now).idleMs > 0 ? formatDuration(runDurations(state, now).idleMs / 1000) : null,
    generatedAt: now.toISOString(),
    verdict,
    figures,
    trail: trailRows(files),
    steps: STEPS.map((step) => {
      const s = state.steps[step];
      const end = s.finishedAt ?? (s.status === "running" ? now.toISOString() : null);
      return {
        step,
        attempt: s.attempt,
        status: s.status,
        duration:
          s.startedAt && end ? formatDuration((Date.parse(end) - Date.parse(s.startedAt)) / 1000) : "",
      };
    }),
    gaps,
    mlflow: mlflowLink(ok(files.mlflow, "MLflow location")),
    data: dataSection(stats, rejected, sliceReport, config),
    tuning: tuningSection(tuneAttempts),
    training: {
      points: trainAttempts.flatMap((t) =>
        (t.report?.history ?? []).map((h) => ({
          attempt: `a${t.attempt}${t.metadata?.mitigation ? " (mitigated)" : ""}`,
          epoch: h.epoch,
          weightedF1: h.weightedF1,
          trainLoss: h.trainLoss,
        })),
      ),
      attempts: trainAttempts.map((t) => ({
        attempt: t.attempt,
        mitigation: mitigationText(t.metadata?.mitigation),
        bestEpoch: t.report?.bestEpoch ?? null,
      })),
    },
    evaluation:
      finalEval && metricsReport
        ? {
            attempt: finalEval.attempt,
            report: metricsReport,
            slices: sliceReport,
            analysis: finalEval.analysis.ok ? finalEval.analysis.value : null,
            sliceSections: sliceReport ? sliceSections(sliceReport, config) : [],
            biasLine: sliceReport ? sliceReport.threshold.sliceF1Ratio * sliceReport.overallF1 : null,
            judged: sliceReport?.slices.filter((s) => s.judged).length ?? 0,
            biased: sliceReport?.slices.filter((s) => s.biased).length ?? 0,
            coverage,
            unjudged,
            unjudgedReason,
            table: sliceRows(files, finalEval.attempt, (r) => (r ? withJudged(r) : null)),
          }
        : null,
    evaluations: evaluationSummaries(files),
    champion: metricsReport?.champion
      ? {
          version: metricsReport.champion.modelVersion,
          challenger: metricsReport.metrics,
          champion: metricsReport.champion.metrics,
          delta: metricsReport.metrics.weightedF1 - metricsReport.champion.metrics.weightedF1,
          tolerance: config.rules.championTolerance,
        }
      : null,
    model,
    f1Min: config.rules.f1Min,
    rules: config.rules,
  };
}

/** The evaluation the run's outcome rests on: the latest attempt that left its metrics. */
function lastEvaluation(attempts: EvaluateAttempt[]): EvaluateAttempt | null {
  return [...attempts].reverse().find((e) => e.metrics.ok) ?? attempts.at(-1) ?? null;
}

function verdictOf(files: RunFiles): Verdict {
  const { state } = files;
  const last = state.trail.at(-1)?.decision ?? "the run has not decided anything yet";
  if (state.status !== "completed" || !state.outcome) {
    return {
      outcome: "running",
      tone: "neutral",
      title: `Running${state.currentStep ? `: ${state.currentStep}` : ""}`,
      reason: last,
      caveat: null,
    };
  }
  const v = OUTCOME_VERDICT[state.outcome];
  const reg = state.artifacts.registration;
  const title =
    state.outcome === "promoted" && reg
      ? `Promoted: registered as version ${reg.version} (${reg.alias})`
      : v.title;
  // The trail's last entry reads "<outcome>: <why>"; the verdict shows the why. A promotion's why is the decision
  // to register ("passed: weighted F1 ... ; registering"), the last entry only says which version it became.
  let reason = last.startsWith(`${state.outcome}: `) ? last.slice(state.outcome.length + 2) : last;
  if (state.outcome === "promoted") {
    const approval = [...state.trail].reverse().find((t) => t.step === "register")?.decision;
    if (approval) reason = approval.replace(/^passed: /, "passed the rules: ").replace(/; registering$/, "");
  }
  return { outcome: state.outcome, tone: v.tone, title, reason: capitalise(reason), caveat: null };
}

/**
 * A run that passed the bias rule without judging a column did not show that the model is fair there: its verdict is
 * amber, not green, and says which slices could not be judged and why. Outcomes that did not rest on the bias rule
 * (the F1 gate, a failure) keep theirs.
 */
function withCaveat(v: Verdict, unjudged: string | null, reason: string | null): Verdict {
  if (!unjudged || (v.outcome !== "promoted" && v.outcome !== "not_better" && v.outcome !== "blocked_bias"))
    return v;
  return {
    ...v,
    tone: v.tone === "good" ? "warn" : v.tone,
    title: `${v.title}, but ${unjudged}`,
    caveat: `${capitalise(unjudged)}: ${reason ?? ""}.`,
  };
}

/** Slice reports written before `judged` was kept: judged by the same rule from their own thresholds. */
export function withJudged(report: SliceReport): SliceReport {
  return {
    ...report,
    slices: report.slices.map((x) => ({ ...x, judged: x.judged ?? isJudgeable(x, report.threshold) })),
  };
}

function headlineFigures(
  files: RunFiles,
  config: PipelineConfig,
  metrics: MetricsReport | null,
  slices: SliceReport | null,
  weightedF1: number | null,
  unjudged: string | null,
): Figure[] {
  const { state } = files;
  const figures: Figure[] = [];
  if (weightedF1 !== null) {
    const pass = weightedF1 >= config.rules.f1Min;
    figures.push({
      label: "Test weighted F1",
      value: weightedF1.toFixed(3),
      note: `${pass ? "passes" : "below"} the gate of ${config.rules.f1Min.toFixed(2)}`,
      tone: pass ? "good" : "bad",
    });
  } else {
    figures.push({ label: "Test weighted F1", value: "–", note: "not evaluated", tone: "neutral" });
  }
  if (slices) {
    const biased = slices.slices.filter((s) => s.biased);
    const judged = slices.slices.filter((s) => s.judged).length;
    figures.push({
      label: "Biased slices",
      value: judged === 0 ? "–" : String(biased.length),
      note: biased.length
        ? biased
            .slice(0, 3)
            .map((s) => `${s.column}=${s.value}`)
            .join(", ") + (biased.length > 3 ? ", …" : "")
        : judged === 0
          ? "no slice could be judged"
          : `of ${judged} judged slice${judged === 1 ? "" : "s"}${unjudged ? `; ${unjudged}` : ""}`,
      tone: biased.length ? "bad" : unjudged ? "warn" : "good",
    });
  }
  if (metrics?.champion) {
    const delta = metrics.metrics.weightedF1 - metrics.champion.metrics.weightedF1;
    const better = delta >= -config.rules.championTolerance;
    figures.push({
      label: `vs ${state.modelLine ? `${state.modelLine} ` : ""}champion v${metrics.champion.modelVersion}`,
      value: `${delta >= 0 ? "+" : "−"}${Math.abs(delta).toFixed(3)}`,
      note: `champion ${metrics.champion.metrics.weightedF1.toFixed(3)} on the same split`,
      tone: better ? "good" : "warn",
    });
  } else if (metrics) {
    figures.push({
      label: "Champion",
      value: "first of its line",
      note: state.modelLine ? `no champion of line ${state.modelLine} yet` : "first model to be judged",
      tone: "neutral",
    });
  }
  const prepared = state.artifacts.prepared;
  const stats = files.stats?.ok ? files.stats.value : null;
  if (stats || prepared) {
    const kept = stats?.rowsKept ?? prepared?.rowsKept ?? 0;
    const rejected = stats?.rowsRejected ?? prepared?.rowsRejected ?? 0;
    figures.push({
      label: "Rows used",
      value: kept.toLocaleString("en-US"),
      note: `${rejected.toLocaleString("en-US")} rejected`,
      tone: "neutral",
    });
  }
  const retriggers =
    state.budgets.retunesUsed + state.budgets.mitigationsUsed + state.budgets.manualRetriggersUsed;
  figures.push({
    label: "Retriggers",
    value: String(retriggers),
    note: `retune ${state.budgets.retunesUsed}, mitigation ${state.budgets.mitigationsUsed}, manual ${state.budgets.manualRetriggersUsed}`,
    tone: "neutral",
  });
  return figures;
}

function trailRows(files: RunFiles): TrailRow[] {
  const start = Date.parse(files.state.createdAt);
  return files.state.trail.map((t) => {
    const d = t.decision;
    const kind: TrailRow["kind"] =
      t.eventType === "run.started"
        ? "start"
        : t.eventType === "retrigger.requested"
          ? "manual"
          : t.step === null
            ? "outcome"
            : t.eventType === "job.failed"
              ? "failure"
              : t.step === "register"
                ? "register"
                : /^bias check: /.test(d)
                  ? "caveat"
                  : /retune|mitigated re-training/.test(d)
                    ? "retrigger"
                    : "advance";
    return {
      offset: formatDuration((Date.parse(t.at) - start) / 1000),
      step: t.step ? `${t.step} a${t.attempt}` : "run",
      event: t.eventType,
      decision: d,
      kind,
    };
  });
}

function dataSection(
  stats: PreparedStats | null,
  rejected: {
    rows: { line: number; reason: string; field: string | null; message: string }[];
    more: boolean;
  } | null,
  slices: SliceReport | null,
  config: PipelineConfig,
): ReportModel["data"] {
  const minSliceShare = slices?.threshold.minSliceShare ?? config.rules.minSliceShare;
  const minSliceRows = slices ? slices.threshold.minSliceRows : config.rules.minSliceRows;
  if (!stats) {
    return {
      stats: null,
      splitCounts: [],
      sliceCounts: [],
      rejectedByReason: [],
      rejectedSample: rejected?.rows ?? [],
      rejectedMore: rejected?.more ?? false,
      minSliceShare,
      minSliceRows: minSliceRows ?? null,
    };
  }
  const splits = ["train", "validation", "test"] as const;
  const splitCounts = splits.flatMap((split) =>
    LABELS.map((label) => ({ split, label, rows: stats.splits[split].byLabel[label] ?? 0 })),
  );
  const columns = [
    ...new Set([
      ...config.rules.sliceColumns,
      ...Object.keys(stats.splits.train.bySlice),
      ...Object.keys(stats.splits.test.bySlice),
    ]),
  ];
  const testRows = stats.splits.test.rows;
  const sliceCounts = columns
    .map((column) => {
      const values = new Set(splits.flatMap((s) => Object.keys(stats.splits[s].bySlice[column] ?? {})));
      // Own properties only: a value named "toString" in one split must not read the other's inherited function.
      const countOf = (s: (typeof splits)[number], value: string) => {
        const counts = stats.splits[s].bySlice[column];
        return counts && Object.hasOwn(counts, value) ? (counts[value] ?? 0) : 0;
      };
      const counts = [...values].map((value) => {
        const rows = splits.reduce((n, s) => n + countOf(s, value), 0);
        const testCount = countOf("test", value);
        const testShare = testRows > 0 ? testCount / testRows : 0;
        const judged = isJudgeable({ share: testShare, support: testCount }, { minSliceShare, minSliceRows });
        return { value, rows, testShare, judged };
      });
      return {
        column,
        chronological: isChronological(counts.map((c) => c.value)),
        counts: chartedCounts(counts),
        values: counts.length,
      };
    })
    .filter((c) => c.counts.length > 0);
  return {
    stats,
    splitCounts,
    sliceCounts,
    rejectedByReason: Object.entries(stats.rejectedByReason)
      .filter(([, n]) => n > 0)
      .map(([reason, rows]) => ({ reason, rows }))
      .sort((a, b) => b.rows - a.rows),
    rejectedSample: rejected?.rows ?? [],
    rejectedMore: rejected?.more ?? false,
    minSliceShare,
    minSliceRows: minSliceRows ?? null,
  };
}

/**
 * The values a slice chart draws: every judged one, then the largest by rows up to MAX_CHARTED_VALUES, and the rest
 * as one "N other values" bar.
 */
function chartedCounts(counts: SliceCount[]): SliceCount[] {
  if (counts.length <= MAX_CHARTED_VALUES) return counts;
  const { shown, left: rest } = largestFirst(
    counts,
    (c) => c.judged,
    (c) => c.rows,
    MAX_CHARTED_VALUES - 1,
  );
  return [
    ...shown,
    {
      value: `${rest.length} other values`,
      rows: rest.reduce((n, c) => n + c.rows, 0),
      testShare: rest.reduce((n, c) => n + c.testShare, 0),
      judged: false,
      pooled: true,
    },
  ];
}

function tuningSection(
  attempts: {
    attempt: number;
    summary: {
      bestValue: number;
      bestTrial?: number | undefined;
      bestParams: Record<string, unknown>;
      baseModel?: string | undefined;
      models?: Record<string, string> | undefined;
    } | null;
    trials: TrialRow[] | null;
  }[],
): ReportModel["tuning"] {
  // The model a family named in the run (older runs say only the family; some name the best trial's model alone).
  const models: Record<string, string> = {};
  for (const { summary } of attempts) {
    if (summary?.baseModel) models[String(summary.bestParams.modelFamily)] = summary.baseModel;
    Object.assign(models, summary?.models);
  }
  const modelOf = (family: string) => models[family] ?? family;
  // Each attempt's trials.csv holds the whole study so far; a trial belongs to the first attempt that lists it.
  const seen = new Map<number, TrialRow & { round: string }>();
  for (const a of attempts)
    for (const t of a.trials ?? [])
      if (!seen.has(t.number)) seen.set(t.number, { ...t, round: `a${a.attempt}` });
  const table = [...seen.values()]
    .sort((x, y) => x.number - y.number)
    .map((t) => ({ ...t, model: modelOf(t.modelFamily) }));
  let best: number | null = null;
  const trials: TrialPoint[] = table.map((t) => {
    if (t.value !== null && t.state === "COMPLETE") best = best === null ? t.value : Math.max(best, t.value);
    return {
      number: t.number,
      value: t.value,
      state: t.state,
      modelFamily: t.modelFamily,
      model: t.model,
      round: t.round,
      bestSoFar: best,
    };
  });
  const last = [...attempts].reverse().find((a) => a.summary)?.summary ?? null;
  return {
    trials,
    table,
    best: last
      ? {
          number: last.bestTrial ?? null,
          value: last.bestValue,
          model: last.baseModel ?? modelOf(String(last.bestParams.modelFamily)),
          params: Object.fromEntries(Object.entries(last.bestParams).map(([k, v]) => [k, formatParam(k, v)])),
        }
      : null,
  };
}

function sliceSections(report: SliceReport, config: PipelineConfig): SliceSection[] {
  const columns = [...new Set([...config.rules.sliceColumns, ...report.slices.map((s) => s.column)])];
  return columns
    .map((column) => {
      const points: SlicePoint[] = report.slices
        .filter((s) => s.column === column)
        .map((s) => ({
          value: s.value,
          f1: s.f1,
          low: s.f1Interval?.low ?? null,
          high: s.f1Interval?.high ?? null,
          share: s.share,
          support: s.support,
          verdict: s.biased ? "biased" : s.judged ? "fair" : "not judged",
        }));
      return { column, chronological: isChronological(points.map((p) => p.value)), points };
    })
    .filter((s) => s.points.length > 0);
}

function evaluationSummaries(files: RunFiles): EvaluationSummary[] {
  const trail = files.state.trail;
  const decisionOf = (eventId: string) =>
    trail
      .filter((t) => t.eventId === eventId)
      .map((t) => t.decision)
      .join("; ");
  // The decision an evaluation led to is the trail entry of that attempt's evaluation.completed event. The event
  // log names the attempt; without it, the trail's evaluation entries follow the attempts that left metrics, in order.
  const byAttempt = new Map<number, string>();
  const logged = files.events.filter((e) => e.type === "evaluation.completed");
  for (const e of logged) if (decisionOf(e.id)) byAttempt.set(e.attempt, decisionOf(e.id));
  if (byAttempt.size === 0) {
    const ids = [
      ...new Set(trail.filter((t) => t.eventType === "evaluation.completed").map((t) => t.eventId)),
    ];
    const finished = files.evaluate.filter((e) => e.metrics.ok).map((e) => e.attempt);
    if (ids.length === finished.length) ids.forEach((id, i) => byAttempt.set(finished[i]!, decisionOf(id)));
  }
  return files.evaluate.map((e) => {
    const m = e.metrics.ok ? e.metrics.value : null;
    const s = e.slices.ok ? e.slices.value : null;
    return {
      attempt: e.attempt,
      weightedF1: m?.metrics.weightedF1 ?? null,
      biased: (s?.slices ?? []).filter((x) => x.biased).map((x) => `${x.column}=${x.value}`),
      decision: byAttempt.get(e.attempt) ?? (m ? "" : "no metrics (the attempt did not finish)"),
    };
  });
}

function mitigationText(mitigation: unknown): string | null {
  if (!mitigation || typeof mitigation !== "object") return null;
  const slices =
    (mitigation as { slices?: { column: string; value: string; weight: number }[] }).slices ?? [];
  return slices.map((s) => `${s.column}=${s.value} ×${s.weight}`).join(", ");
}

/** Slice values that are all years read best in their own order, others by their numbers. */
export function isChronological(values: string[]): boolean {
  return values.length > 0 && values.every((v) => /^\d{4}$/.test(v) || v === "unknown" || v === "other");
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function formatParam(key: string, value: unknown): string {
  if (typeof value !== "number") return String(value);
  if (key === "learningRate" || key === "weightDecay") return value.toExponential(2);
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(3);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function mlflowLink(location: MlflowLocation | null): ReportModel["mlflow"] {
  if (!location) return null;
  const url = pipelineRunUrl(
    location.trackingUri.replace(/\/+$/, ""),
    location.experimentId,
    location.parentRunId,
  );
  return { url, experimentName: location.experimentName };
}
