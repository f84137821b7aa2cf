// What the bias check could judge: per slice column, how many slices were large enough, and why none was when so.
import type { BiasFinding } from "./metrics.ts";
import type { SizeRule } from "./bias-rule.ts";
import { countOf } from "./text.ts";

export interface ColumnCoverage {
  column: string;
  /** Distinct values of the column on the test split (its pooled `other` slice not counted). */
  values: number;
  judged: number;
  /** The largest single value, to say how far from judgeable the column is. */
  largest: { value: string; support: number; share: number } | null;
}

export interface SliceCoverage {
  /** Slices judged, pooled and crossed ones included. */
  judged: number;
  columns: ColumnCoverage[];
  /** Configured columns none of whose slices could be judged: the bias check says nothing about them. */
  unjudged: ColumnCoverage[];
}

/** Coverage of each configured column from the judged findings (crossed slices count in `judged` only). */
export function sliceCoverage(
  findings: readonly Pick<BiasFinding, "column" | "value" | "kind" | "support" | "share" | "judged">[],
  columns: readonly string[],
): SliceCoverage {
  const per = columns.map((column): ColumnCoverage => {
    const own = findings.filter((f) => f.column === column);
    const values = own.filter((f) => (f.kind ?? "value") === "value");
    const largest = values.reduce<(typeof values)[number] | null>(
      (a, b) => (a && a.support >= b.support ? a : b),
      null,
    );
    return {
      column,
      values: values.length,
      judged: own.filter((f) => f.judged).length,
      largest: largest ? { value: largest.value, support: largest.support, share: largest.share } : null,
    };
  });
  return {
    judged: findings.filter((f) => f.judged).length,
    columns: per,
    unjudged: per.filter((c) => c.judged === 0),
  };
}

/** "no slice could be judged" / "no main_category slice could be judged", or null when every column was judged. */
export function coverageHeadline(coverage: SliceCoverage): string | null {
  if (coverage.unjudged.length === 0) return null;
  if (coverage.judged === 0) return "no slice could be judged";
  return `no ${coverage.unjudged.map((c) => c.column).join(" or ")} slice could be judged`;
}

/**
 * Why the unjudged columns could not be judged, in the rule's own terms: "main_category: 29 values, the largest
 * (All Beauty) holds 25 of 299 test rows (8.4%); a slice is judged from 10% of the test rows".
 */
export function coverageReason(coverage: SliceCoverage, rules: SizeRule, testRows: number): string {
  const rule = `a slice is judged from ${pctText(rules.minSliceShare)} of the test rows${
    rules.minSliceRows != null ? ` or ${countOf(rules.minSliceRows, "row")}` : " (minSliceRows unset)"
  }`;
  const columns = coverage.unjudged.map((c) => {
    if (!c.largest) return `${c.column}: no test row has a value`;
    const values = `${c.values} value${c.values === 1 ? "" : "s"}`;
    return `${c.column}: ${values}, the largest (${c.largest.value}) holds ${c.largest.support} of ${testRows} test rows (${pctText(c.largest.share)})`;
  });
  return `${columns.join("; ")}; ${rule}`;
}

function pctText(share: number): string {
  const p = share * 100;
  return `${Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)}%`;
}
