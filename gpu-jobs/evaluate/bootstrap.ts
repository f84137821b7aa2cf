// Seeded bootstrap of slice F1 and of its ratio to the overall F1, resampling within each slice of a column.
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { Interval } from "../../schemas/metrics.ts";
import { weightedF1Flat } from "./metrics.ts";

export interface BootstrapSettings {
  resamples: number;
  /** e.g. 0.95 for a 95% interval. */
  confidence: number;
  seed: number;
}

export interface SliceIntervals {
  f1: Interval | null;
  ratio: Interval | null;
}

/**
 * Intervals for every slice of one column. A column splits the test rows into slices; each resample draws every
 * slice's rows with replacement (as many as it has), computes each slice's weighted F1 and the overall weighted F1 of
 * all drawn rows, so the ratio's interval carries the uncertainty of both. Percentile intervals, linear interpolation
 * between order statistics (numpy's default). `codes[i]` is row i's true class * classes + predicted class.
 */
export function bootstrapColumn(
  codes: Uint8Array,
  slices: readonly (readonly number[])[],
  classes: number,
  settings: BootstrapSettings,
): SliceIntervals[] {
  if (settings.resamples === 0) return slices.map(() => ({ f1: null, ratio: null }));
  const rng = xoroshiro128plus(settings.seed);
  const cells = classes * classes;
  const f1s = slices.map(() => new Float64Array(settings.resamples));
  const ratios = slices.map(() => new Float64Array(settings.resamples));
  const sliceCounts = slices.map(() => new Float64Array(cells));
  const overall = new Float64Array(cells);
  for (let b = 0; b < settings.resamples; b += 1) {
    overall.fill(0);
    slices.forEach((rows, s) => {
      const counts = sliceCounts[s]!;
      counts.fill(0);
      const last = rows.length - 1;
      for (let i = 0; i <= last; i += 1) counts[codes[rows[uniformInt(rng, 0, last)]!]!]! += 1;
      for (let c = 0; c < cells; c += 1) overall[c]! += counts[c]!;
    });
    const overallF1 = weightedF1Flat(overall, classes);
    slices.forEach((_, s) => {
      const f1 = weightedF1Flat(sliceCounts[s]!, classes);
      f1s[s]![b] = f1;
      ratios[s]![b] = overallF1 > 0 ? f1 / overallF1 : 0;
    });
  }
  const alpha = (1 - settings.confidence) / 2;
  return slices.map((_, s) => ({
    f1: percentileInterval(f1s[s]!, alpha),
    ratio: percentileInterval(ratios[s]!, alpha),
  }));
}

/** [alpha, 1 - alpha] quantiles of the values (sorted in place). */
export function percentileInterval(values: Float64Array, alpha: number): Interval {
  values.sort();
  return { low: quantile(values, alpha), high: quantile(values, 1 - alpha) };
}

/** numpy.quantile(sorted, q) with the default 'linear' method. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new Error("quantile of no values");
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}
