// Slice evaluation: each value of each configured column gets full metrics, its share, and bootstrap intervals.
import type { Label } from "../../schemas/names.ts";
import type { Metrics, SliceReport, SliceResult } from "../../schemas/metrics.ts";
import type { Rules, Evaluation } from "../../schemas/config.ts";
import { judgeSlices } from "../../schemas/bias-rule.ts";
import { bootstrapColumn } from "./bootstrap.ts";
import { metricsOf } from "./metrics.ts";

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
}

export type SliceWithMetrics = SliceResult & { metrics: Metrics };

/** Every value of every configured column, in column order and then value order, with metrics and intervals. */
export function evaluateSlices(input: SliceInput): SliceWithMetrics[] {
  const n = input.yTrue.length;
  const k = input.labels.length;
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i += 1) codes[i] = input.yTrue[i]! * k + input.yPred[i]!;
  const overallF1 = input.overall.weightedF1;
  const out: SliceWithMetrics[] = [];
  input.rules.sliceColumns.forEach((column, columnIndex) => {
    const groups = new Map<string, number[]>();
    for (let i = 0; i < n; i += 1) {
      const value = input.sliceValues[i]?.[column] ?? MISSING_SLICE_VALUE;
      const rows = groups.get(value);
      if (rows) rows.push(i);
      else groups.set(value, [i]);
    }
    const values = [...groups.keys()].sort(compareValues);
    const rowsOf = values.map((v) => groups.get(v)!);
    const intervals = bootstrapColumn(codes, rowsOf, k, {
      resamples: input.evaluation.bootstrapResamples,
      confidence: input.evaluation.confidence,
      // One stream per column, so adding a column leaves the others' intervals as they were.
      seed: input.evaluation.seed + columnIndex * 7919,
    });
    values.forEach((value, v) => {
      const rows = rowsOf[v]!;
      const metrics = metricsOf(
        rows.map((r) => input.yTrue[r]!),
        rows.map((r) => input.yPred[r]!),
        input.labels,
      );
      out.push({
        column,
        value,
        support: rows.length,
        share: rows.length / n,
        f1: metrics.weightedF1,
        ratio: overallF1 > 0 ? metrics.weightedF1 / overallF1 : 0,
        f1Interval: intervals[v]!.f1,
        ratioInterval: intervals[v]!.ratio,
        metrics,
      });
    });
  });
  return out;
}

/** slices.json: the slices judged by the bias rule (schemas/bias-rule.ts), metrics kept. */
export function sliceReport(
  slices: readonly SliceWithMetrics[],
  overallF1: number,
  rules: Rules,
  evaluation: Evaluation,
): SliceReport {
  const findings = judgeSlices(slices, overallF1, rules);
  return {
    overallF1,
    threshold: {
      minSliceShare: rules.minSliceShare,
      sliceF1Ratio: rules.sliceF1Ratio,
      requireSignificance: rules.requireSignificance,
    },
    bootstrap: {
      resamples: evaluation.bootstrapResamples,
      confidence: evaluation.confidence,
      seed: evaluation.seed,
    },
    slices: findings.map((f) => {
      const source = slices.find((s) => s.column === f.column && s.value === f.value)!;
      return { ...f, metrics: source.metrics };
    }),
  };
}

/** Numbers in numeric order (years), then other values in code-point order. */
function compareValues(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  const aNum = a.trim() !== "" && Number.isFinite(na);
  const bNum = b.trim() !== "" && Number.isFinite(nb);
  if (aNum && bNum) return na - nb || (a < b ? -1 : a > b ? 1 : 0);
  if (aNum !== bNum) return aNum ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
