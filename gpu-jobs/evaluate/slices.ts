// Slice evaluation: each value of each configured column, each column's pooled `other` slice and the crossed cells
// large enough to be judged get full metrics, their share, and bootstrap intervals.
import type { Label } from "../../schemas/names.ts";
import type { CrossSummary, Metrics, SliceReport, SliceResult } from "../../schemas/metrics.ts";
import type { Rules, Evaluation } from "../../schemas/config.ts";
import { isJudgeable, isOverallRow, judgeSlices } from "../../schemas/bias-rule.ts";
import { bootstrapColumn, type SliceIntervals } from "./bootstrap.ts";
import { metricsOf } from "./metrics.ts";
import { crossedGroups, otherGroup, valueGroups, type SliceGroup } from "./slice-groups.ts";

/** The value a row without the column gets, as the prepare step writes a missing value. */
export const MISSING_SLICE_VALUE = "unknown";

export interface SliceInput {
  yTrue: ArrayLike<number>;
  yPred: ArrayLike<number>;
  /** Each row's slice values by column. */
  sliceValues: readonly Readonly<Record<string, string>>[];
  labels: readonly Label[];
  overall: Metrics;
  rules: Rules;
  evaluation: Evaluation;
  /** The champion's predictions on the same rows: each slice then carries the champion's F1 beside its own. */
  championPred?: ArrayLike<number> | null;
}

export type SliceWithMetrics = SliceResult & { metrics: Metrics; championF1: number | null };

export interface EvaluatedSlices {
  testRows: number;
  slices: SliceWithMetrics[];
  /** Per pair of columns crossed: cells on the test split, and how many were large enough to judge (and reported). */
  crosses: CrossSummary[];
}

// Each bootstrap stream has its own seed, so adding a column, a pooled slice or a cross leaves the others' intervals
// as they were.
const COLUMN_STREAM = 7919;
const OTHER_STREAM = 104_729;

/**
 * Every value of every configured column in column order and then value order (each column's `other` slice after
 * its values), then the crossed cells that can be judged, pair by pair; with metrics and intervals.
 */
export function evaluateSlices(input: SliceInput): EvaluatedSlices {
  const n = input.yTrue.length;
  const k = input.labels.length;
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i += 1) codes[i] = input.yTrue[i]! * k + input.yPred[i]!;
  const valueOf = (row: number, column: string) => input.sliceValues[row]?.[column] ?? MISSING_SLICE_VALUE;
  const bootstrap = (groups: readonly SliceGroup[], stream: number) =>
    bootstrapColumn(
      codes,
      groups.map((g) => g.rows),
      k,
      {
        resamples: input.evaluation.bootstrapResamples,
        confidence: input.evaluation.confidence,
        seed: input.evaluation.seed + stream,
      },
    );
  const judgeable = (g: SliceGroup) =>
    isJudgeable({ support: g.rows.length, share: g.rows.length / n }, input.rules);
  const out: SliceWithMetrics[] = [];
  const columns = input.rules.sliceColumns;

  columns.forEach((column, c) => {
    const groups = valueGroups(n, column, (row) => valueOf(row, column));
    const intervals = bootstrap(groups, c * COLUMN_STREAM);
    groups.forEach((g, i) => out.push(sliceOf(g, intervals[i]!, input)));
    if (!input.rules.groupRareSlices) return;
    const other = otherGroup(groups, judgeable);
    if (!other) return;
    // The pooled slice's interval comes from its own partition of the rows: the values kept apart, and the pool.
    const partition = [...groups.filter((g) => judgeable(g)), other];
    out.push(sliceOf(other, bootstrap(partition, c * COLUMN_STREAM + OTHER_STREAM).at(-1)!, input));
  });

  const crosses: CrossSummary[] = [];
  if (input.rules.crossSlices) {
    let pair = 0;
    for (let a = 0; a < columns.length; a += 1) {
      for (let b = a + 1; b < columns.length; b += 1) {
        const [ca, cb] = [columns[a]!, columns[b]!];
        const cells = crossedGroups(n, ca, cb, (row, column) => valueOf(row, column));
        const judged = cells.map(judgeable);
        // Intervals only when some cell is reported: a cross of many small cells costs nothing.
        if (judged.some(Boolean)) {
          const intervals = bootstrap(cells, (columns.length + pair) * COLUMN_STREAM);
          cells.forEach((g, i) => {
            if (judged[i]) out.push(sliceOf(g, intervals[i]!, input));
          });
        }
        crosses.push({ columns: [ca, cb], cells: cells.length, judged: judged.filter(Boolean).length });
        pair += 1;
      }
    }
  }
  return { testRows: n, slices: out, crosses };
}

function sliceOf(g: SliceGroup, iv: SliceIntervals, input: SliceInput): SliceWithMetrics {
  const n = input.yTrue.length;
  const overallF1 = input.overall.weightedF1;
  const yTrue = g.rows.map((r) => input.yTrue[r]!);
  const metrics = metricsOf(
    yTrue,
    g.rows.map((r) => input.yPred[r]!),
    input.labels,
  );
  const champion = input.championPred;
  return {
    column: g.column,
    value: g.value,
    kind: g.kind,
    ...(g.where ? { where: g.where } : {}),
    support: g.rows.length,
    share: g.rows.length / n,
    f1: metrics.weightedF1,
    ratio: overallF1 > 0 ? metrics.weightedF1 / overallF1 : 0,
    f1Interval: iv.f1,
    ratioInterval: iv.ratio,
    metrics,
    championF1: champion
      ? metricsOf(
          yTrue,
          g.rows.map((r) => champion[r]!),
          input.labels,
        ).weightedF1
      : null,
  };
}

/** slices.json: the slices judged by the bias rule (schemas/bias-rule.ts), metrics kept. */
export function sliceReport(
  evaluated: EvaluatedSlices,
  overallF1: number,
  rules: Rules,
  evaluation: Evaluation,
  champion: { modelVersion: string; overallF1: number } | null = null,
): SliceReport {
  const slices = evaluated.slices.filter((s) => !isOverallRow(s));
  const findings = judgeSlices(slices, overallF1, rules);
  return {
    overallF1,
    threshold: {
      minSliceShare: rules.minSliceShare,
      minSliceRows: rules.minSliceRows ?? null,
      sliceF1Ratio: rules.sliceF1Ratio,
      requireSignificance: rules.requireSignificance,
      groupRareSlices: rules.groupRareSlices,
      crossSlices: rules.crossSlices,
    },
    bootstrap: {
      resamples: evaluation.bootstrapResamples,
      confidence: evaluation.confidence,
      seed: evaluation.seed,
    },
    testRows: evaluated.testRows,
    champion,
    crosses: evaluated.crosses,
    slices: findings.map((f, i) => ({
      ...f,
      metrics: slices[i]!.metrics,
      championF1: slices[i]!.championF1,
    })),
  };
}
