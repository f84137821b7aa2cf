// The bias rule of the original pipeline, per slice value on the test split, and the mitigation plan it leads to.
// A contract both the decision core and the evaluate job apply, so it sits below both of them.
import type { Rules, Mitigation } from "./config.ts";
import type { SliceResult, BiasFinding } from "./metrics.ts";
import type { MitigationPlan } from "./mitigation.ts";

/** The name the original pipeline gave its all-rows row; it is never a slice. */
export const OVERALL_SLICE_VALUE = "overall";

export type SizeRule = Pick<Rules, "minSliceShare"> & { minSliceRows?: number | null | undefined };

/**
 * Whether a slice is large enough to be judged: it holds at least `minSliceShare` of the test rows, or at least
 * `minSliceRows` rows when that is set (both inclusive).
 */
export function isJudgeable(slice: Pick<SliceResult, "share" | "support">, rules: SizeRule): boolean {
  return (
    slice.share >= rules.minSliceShare || (rules.minSliceRows != null && slice.support >= rules.minSliceRows)
  );
}

/**
 * Judges one slice: biased when it is large enough to be judged (`isJudgeable`) and its F1 is strictly below
 * `sliceF1Ratio` times the overall F1. Significant when the bootstrap interval of the ratio lies wholly below the
 * threshold.
 */
export function judgeSlice(
  slice: SliceResult,
  overallF1: number,
  rules: SizeRule & Pick<Rules, "sliceF1Ratio">,
): BiasFinding {
  const judged = isJudgeable(slice, rules);
  const biased = judged && slice.f1 < rules.sliceF1Ratio * overallF1;
  const significant = biased && slice.ratioInterval !== null && slice.ratioInterval.high < rules.sliceF1Ratio;
  return { ...slice, judged, biased, significant };
}

/** Every slice judged; the overall row, if a producer included one, is left out. */
export function judgeSlices(slices: readonly SliceResult[], overallF1: number, rules: Rules): BiasFinding[] {
  return slices.filter((s) => !isOverallRow(s)).map((s) => judgeSlice(s, overallF1, rules));
}

/** The findings that gate the run: biased ones, and only significant ones when the config requires it. */
export function blockingFindings(
  findings: readonly BiasFinding[],
  rules: Pick<Rules, "requireSignificance">,
): BiasFinding[] {
  return findings.filter((f) => f.biased && (!rules.requireSignificance || f.significant));
}

export function isOverallRow(slice: Pick<SliceResult, "column" | "value">): boolean {
  return slice.column === OVERALL_SLICE_VALUE || slice.value === OVERALL_SLICE_VALUE;
}

/** Up-weights each blocking slice in proportion to its gap: clamp(boost * overall / slice F1, minWeight, maxWeight). */
export function mitigationPlan(
  findings: readonly BiasFinding[],
  overallF1: number,
  mitigation: Mitigation,
  fromEvaluationAttempt: number,
): MitigationPlan | null {
  if (findings.length === 0) return null;
  const slices = findings.map((f) => {
    const gap = f.f1 > 0 ? overallF1 / f.f1 : Number.POSITIVE_INFINITY;
    const weight = Math.min(mitigation.maxWeight, Math.max(mitigation.minWeight, mitigation.boost * gap));
    // A pooled or crossed slice names its rows: the re-training up-weights exactly those.
    const where = f.where ? { where: f.where } : {};
    return { column: f.column, value: f.value, ...where, weight: round(weight, 4), f1: f.f1, ratio: f.ratio };
  });
  return { method: "reweight", slices, fromEvaluationAttempt };
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
