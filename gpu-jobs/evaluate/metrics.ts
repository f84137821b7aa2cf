// Classification metrics from a confusion matrix, computed as scikit-learn computes them (zero_division=0).
import type { Label } from "../../schemas/names.ts";
import type { ClassMetrics, Metrics, MetricsSummary } from "../../schemas/metrics.ts";

/** confusion[i][j]: rows with true class i predicted as j. */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  classes: number,
): number[][] {
  if (yTrue.length !== yPred.length)
    throw new Error(`${yTrue.length} true labels but ${yPred.length} predictions`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < yTrue.length; i += 1) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    if (!(t >= 0 && t < classes && p >= 0 && p < classes))
      throw new Error(`class out of range at row ${i}: true ${t}, predicted ${p}`);
    m[t]![p]! += 1;
  }
  return m;
}

/**
 * Accuracy, per-class precision/recall/F1 and their weighted and macro averages. As scikit-learn with its default
 * label set, the averages run over the classes present in the true or predicted labels; a class with neither is
 * reported with zeros and support 0. A ratio whose denominator is 0 is 0 (scikit-learn's zero_division=0).
 */
export function metricsFromConfusion(
  confusion: readonly (readonly number[])[],
  labels: readonly Label[],
): Metrics {
  const k = labels.length;
  const stats = classStats(confusion, k);
  const perClass = {} as Record<Label, ClassMetrics>;
  labels.forEach((label, c) => {
    const s = stats[c]!;
    perClass[label] = { precision: s.precision, recall: s.recall, f1: s.f1, support: s.support };
  });
  const present = stats.filter((s) => s.support > 0 || s.predicted > 0);
  const total = stats.reduce((a, s) => a + s.support, 0);
  const correct = stats.reduce((a, s) => a + s.tp, 0);
  const weighted = (pick: (s: ClassStat) => number): number =>
    total === 0 ? 0 : present.reduce((a, s) => a + pick(s) * s.support, 0) / total;
  const macro = (pick: (s: ClassStat) => number): number =>
    present.length === 0 ? 0 : present.reduce((a, s) => a + pick(s), 0) / present.length;
  return {
    accuracy: total === 0 ? 0 : correct / total,
    weightedPrecision: weighted((s) => s.precision),
    weightedRecall: weighted((s) => s.recall),
    weightedF1: weighted((s) => s.f1),
    macroPrecision: macro((s) => s.precision),
    macroRecall: macro((s) => s.recall),
    macroF1: macro((s) => s.f1),
    perClass,
    confusion: confusion.map((row) => [...row]),
    support: total,
  };
}

export function metricsOf(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels: readonly Label[],
): Metrics {
  return metricsFromConfusion(confusionMatrix(yTrue, yPred, labels.length), labels);
}

export function summary(m: Metrics): MetricsSummary {
  return { accuracy: m.accuracy, weightedF1: m.weightedF1, macroF1: m.macroF1 };
}

/**
 * Weighted F1 of a k x k confusion matrix stored row-major in a flat array: the bootstrap's inner loop, so no
 * allocation. Same value as metricsFromConfusion(...).weightedF1.
 */
export function weightedF1Flat(counts: ArrayLike<number>, k: number): number {
  let total = 0;
  let sum = 0;
  for (let c = 0; c < k; c += 1) {
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j += 1) {
      support += counts[c * k + j]!;
      predicted += counts[j * k + c]!;
    }
    const denom = support + predicted;
    const f1 = denom === 0 ? 0 : (2 * counts[c * k + c]!) / denom;
    sum += f1 * support;
    total += support;
  }
  return total === 0 ? 0 : sum / total;
}

interface ClassStat {
  tp: number;
  support: number;
  predicted: number;
  precision: number;
  recall: number;
  f1: number;
}

function classStats(confusion: readonly (readonly number[])[], k: number): ClassStat[] {
  if (confusion.length !== k || confusion.some((r) => r.length !== k))
    throw new Error(`confusion matrix must be ${k} x ${k}`);
  return Array.from({ length: k }, (_, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    return {
      tp,
      support,
      predicted,
      precision: predicted === 0 ? 0 : tp / predicted,
      recall: support === 0 ? 0 : tp / support,
      // scikit-learn's form: (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp) with b = 1, i.e. 2 tp / (support + predicted).
      f1: support + predicted === 0 ? 0 : (2 * tp) / (support + predicted),
    };
  });
}
