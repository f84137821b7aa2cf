// scikit-learn's classification_report text table, from our Metrics, digit for digit.
import type { Label } from "../../schemas/names.ts";
import type { Metrics } from "../../schemas/metrics.ts";

const HEADERS = ["precision", "recall", "f1-score", "support"];

/**
 * The table `classification_report(y_true, y_pred, target_names=..., digits=digits, zero_division=0)` prints: one row
 * per class present in the true or predicted labels, then accuracy and the macro and weighted averages.
 */
export function classificationReport(metrics: Metrics, labels: readonly Label[], digits = 4): string {
  const present = labels.filter(
    (label, c) => metrics.perClass[label].support > 0 || metrics.confusion.some((row) => row[c]! > 0),
  );
  const lastHeading = "weighted avg";
  const width = Math.max(...present.map((l) => l.length), lastHeading.length, digits);
  const num = (x: number): string => pyFixed(x, digits).padStart(9);
  const row = (name: string, p: number, r: number, f: number, support: number): string =>
    `${name.padStart(width)}  ${num(p)} ${num(r)} ${num(f)} ${String(support).padStart(9)}\n`;

  let out = `${"".padStart(width)} ${HEADERS.map((h) => ` ${h.padStart(9)}`).join("")}\n\n`;
  for (const label of present) {
    const c = metrics.perClass[label];
    out += row(label, c.precision, c.recall, c.f1, c.support);
  }
  out += "\n";
  out += `${"accuracy".padStart(width)}  ${"".padStart(9)} ${"".padStart(9)} ${num(metrics.accuracy)} ${String(metrics.support).padStart(9)}\n`;
  out += row("macro avg", metrics.macroPrecision, metrics.macroRecall, metrics.macroF1, metrics.support);
  out += row(
    lastHeading,
    metrics.weightedPrecision,
    metrics.weightedRecall,
    metrics.weightedF1,
    metrics.support,
  );
  return out;
}

/**
 * Python's `format(x, ".Nf")`: the exact binary value rounded to N places, ties to even. JavaScript's toFixed rounds
 * ties away from zero (0.03125 -> "0.0313" where Python prints "0.0312").
 */
export function pyFixed(x: number, digits: number): string {
  const fixed = x.toFixed(digits);
  // toFixed(100) shows a double's exact decimal expansion when it is that short, which every tie is.
  const exact = Math.abs(x).toFixed(100);
  const dot = exact.indexOf(".");
  const tail = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return fixed;
  const truncated = exact.slice(0, dot + 1 + digits).replace(/\.$/, "");
  const lastDigit = Number(truncated.at(-1));
  if (lastDigit % 2 === 1) return fixed; // odd: rounding away from zero is also rounding to even
  return (x < 0 ? "-" : "") + truncated;
}
