// Error analysis of one model on the test split: its most confident mistakes, its calibration, one-vs-rest
// precision-recall. Pure functions of labels and probabilities; what they return is small whatever the split's size.
import {
  ANALYSIS_LIMITS,
  ErrorAnalysis,
  type Calibration,
  type Mistake,
  type PrecisionRecallCurve,
} from "../../schemas/error-analysis.ts";
import { LABELS } from "../../schemas/names.ts";

/** What each test row contributes: its identity and text (for the mistakes), its true class. */
export interface AnalysedRow {
  id: string;
  line: number;
  title: string;
  text: string;
  labelId: number;
}

/**
 * The analysis of `probabilities` (row-major, rows x 3, each row summing to 1) against the rows' true classes. The
 * predicted class is the most probable one, as the evaluation's own predictions are the logits' argmax.
 */
export function errorAnalysis(rows: readonly AnalysedRow[], probabilities: ArrayLike<number>): ErrorAnalysis {
  const k = LABELS.length;
  if (probabilities.length !== rows.length * k)
    throw new Error(`${probabilities.length} probabilities for ${rows.length} rows of ${k} classes`);
  const yTrue = Uint8Array.from(rows, (r) => r.labelId);
  return ErrorAnalysis.parse({
    testRows: rows.length,
    mistakesPerClass: ANALYSIS_LIMITS.mistakesPerClass,
    mistakes: confidentMistakes(rows, probabilities, ANALYSIS_LIMITS.mistakesPerClass),
    calibration: calibration(yTrue, probabilities, k, ANALYSIS_LIMITS.calibrationBins),
    precisionRecall: LABELS.map((label, c) => {
      const scores = Float64Array.from(rows, (_, i) => probabilities[i * k + c]!);
      const positives = Uint8Array.from(yTrue, (t) => (t === c ? 1 : 0));
      const curve = precisionRecallCurve(positives, scores);
      const count = positives.reduce((a, b) => a + b, 0);
      const out: PrecisionRecallCurve = {
        label,
        positives: count,
        averagePrecision: count === 0 ? null : averagePrecision(curve),
        points: count === 0 ? [] : thin(curve, ANALYSIS_LIMITS.curvePoints),
      };
      return out;
    }),
  });
}

/** Index of the largest value of row i (the first on a tie, as numpy's argmax). */
function argmaxRow(p: ArrayLike<number>, i: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c += 1) if (p[i * k + c]! > p[i * k + best]!) best = c;
  return best;
}

/** Per true class, the wrong predictions made with the highest confidence (ties: earlier line first). */
export function confidentMistakes(
  rows: readonly AnalysedRow[],
  probabilities: ArrayLike<number>,
  perClass: number,
): Mistake[] {
  const k = LABELS.length;
  const wrong = rows
    .map((row, i) => ({ row, i, predicted: argmaxRow(probabilities, i, k) }))
    .filter((m) => m.predicted !== m.row.labelId)
    .map((m) => ({ ...m, confidence: probabilities[m.i * k + m.predicted]! }));
  return LABELS.flatMap((_, c) =>
    wrong
      .filter((m) => m.row.labelId === c)
      .sort((a, b) => b.confidence - a.confidence || a.row.line - b.row.line)
      .slice(0, perClass)
      .map(({ row, i, predicted, confidence }) => {
        const title = shorten(row.title, ANALYSIS_LIMITS.titleChars);
        const text = shorten(row.text, ANALYSIS_LIMITS.textChars);
        return {
          id: shorten(row.id, 200).value,
          line: row.line,
          label: LABELS[c]!,
          predicted: LABELS[predicted]!,
          confidence: round(confidence),
          probabilities: Array.from({ length: k }, (_, j) => round(probabilities[i * k + j]!)),
          title: title.value,
          text: text.value,
          truncated: title.cut || text.cut,
        };
      }),
  );
}

/**
 * Review text made safe to show and cut short: line breaks written as HTML (`<br />`, common in the Amazon data) and
 * control characters become spaces, invisible direction overrides (which can make shown text read backwards) are
 * dropped, and runs of white space collapse. Cut in UTF-16 units without splitting a surrogate pair, "…" added.
 * Escaping for HTML is still the renderer's job: this text stays hostile.
 */
export function shorten(raw: string, max: number): { value: string; cut: boolean } {
  const clean = raw
    .replace(/<br\s*\/?>/gi, " ")
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed here
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, " ")
    .replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  if (clean.length <= max) return { value: clean, cut: false };
  let end = max;
  const code = clean.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return { value: `${clean.slice(0, end).trimEnd()}…`, cut: true };
}

/**
 * Reliability of the max probability in `bins` equal-width bins over [0, 1], a row with confidence p falling in the
 * bin (low, high]. Expected calibration error as Guo et al. define it ("On Calibration of Modern Neural Networks",
 * ICML 2017, eq. 3): ECE = sum over bins m of |B_m| / n x |acc(B_m) - conf(B_m)|; the maximum calibration error
 * (eq. 5) is the largest of those gaps. Bin edges are i x (1 / bins), as numpy's linspace computes them, so a
 * confidence on an edge lands where the usual numpy implementations put it.
 */
export function calibration(
  yTrue: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  k: number,
  bins: number,
): Calibration {
  const n = yTrue.length;
  const step = 1 / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? 1 : i * step));
  const count = new Array<number>(bins).fill(0);
  const correct = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i += 1) {
    const predicted = argmaxRow(probabilities, i, k);
    const p = probabilities[i * k + predicted]!;
    // The first bin also takes p = 0 (impossible for a max probability, but a row is never dropped).
    let b = 0;
    while (b < bins - 1 && p > edges[b + 1]!) b += 1;
    count[b]! += 1;
    confSum[b]! += p;
    if (predicted === yTrue[i]) correct[b]! += 1;
  }
  let ece = 0;
  let mce = 0;
  const out = count.map((c, b) => {
    const accuracy = c === 0 ? null : correct[b]! / c;
    const confidence = c === 0 ? null : confSum[b]! / c;
    if (accuracy !== null && confidence !== null) {
      const gap = Math.abs(accuracy - confidence);
      ece += (c / n) * gap;
      mce = Math.max(mce, gap);
    }
    return { low: edges[b]!, high: edges[b + 1]!, count: c, accuracy, confidence };
  });
  return { bins: out, ece: Math.min(1, ece), mce };
}

/** A precision-recall curve as scikit-learn's precision_recall_curve returns it: recall falling from 1 to 0. */
export interface Curve {
  precision: number[];
  recall: number[];
}

/**
 * scikit-learn's precision_recall_curve (drop_intermediate=False): one point per distinct score, from the lowest
 * threshold (recall 1) to the highest, then the point (recall 0, precision 1). Needs at least one positive.
 */
export function precisionRecallCurve(positives: ArrayLike<number>, scores: ArrayLike<number>): Curve {
  const n = scores.length;
  // Descending score; among equal scores the order does not matter, as only the last index of a run is used.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  for (let j = 0; j < n; j += 1) {
    tp += positives[order[j]!]!;
    const last = j === n - 1 || scores[order[j + 1]!]! !== scores[order[j]!]!;
    if (last) {
      tps.push(tp);
      fps.push(j + 1 - tp);
    }
  }
  const total = tps.at(-1) ?? 0;
  const precision = tps.map((t, i) => (t + fps[i]! === 0 ? 0 : t / (t + fps[i]!)));
  const recall = tps.map((t) => (total === 0 ? 1 : t / total));
  return { precision: [...precision.reverse(), 1], recall: [...recall.reverse(), 0] };
}

/** scikit-learn's average_precision_score: sum over the curve of (R_n - R_n-1) x P_n, never below 0. */
export function averagePrecision(curve: Curve): number {
  let ap = 0;
  for (let i = 0; i + 1 < curve.recall.length; i += 1)
    ap -= (curve.recall[i + 1]! - curve.recall[i]!) * curve.precision[i]!;
  return Math.max(0, Math.min(1, ap));
}

/** At most `max` points of the curve, ends kept, in rising recall: enough to draw it, not to recompute it. */
export function thin(curve: Curve, max: number): { recall: number; precision: number }[] {
  const n = curve.recall.length;
  const take =
    n <= max
      ? Array.from({ length: n }, (_, i) => i)
      : [...new Set(Array.from({ length: max }, (_, j) => Math.round((j * (n - 1)) / (max - 1))))];
  return take
    .map((i) => ({ recall: round(curve.recall[i]!), precision: round(curve.precision[i]!) }))
    .reverse();
}

function round(x: number): number {
  return Number(x.toFixed(6));
}
