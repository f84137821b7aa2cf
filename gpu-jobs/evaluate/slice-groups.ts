// Which rows each slice holds: one group per value of a column, the pooled `other` group, the crossed cells.
import type { SliceCondition, SliceKind } from "../../schemas/metrics.ts";

export interface SliceGroup {
  column: string;
  value: string;
  kind: SliceKind;
  /** Set for `other` and `cross`: which rows, as the mitigation plan names them. */
  where?: SliceCondition[];
  /** Row indexes, ascending. */
  rows: number[];
}

/** The name of a column's pooled slice; "other (pooled)" when the column has a real value called "other". */
export const OTHER_SLICE_VALUE = "other";
/** Joins the two columns and the two values of a crossed slice, as in `year × main_category` = `2022 × Books`. */
export const CROSS_SEPARATOR = " × ";

/** One group per value of the column, values in `compareValues` order. */
export function valueGroups(n: number, column: string, valueOf: (row: number) => string): SliceGroup[] {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i += 1) push(groups, valueOf(i), i);
  return [...groups.keys()].sort(compareValues).map((value) => ({
    column,
    value,
    kind: "value" as const,
    rows: groups.get(value)!,
  }));
}

/**
 * The column's values too small to be judged, pooled into one group: only when at least two values are pooled
 * (one alone is that value again) and at least one is not (the whole column pooled is every row, the overall).
 */
export function otherGroup(
  groups: readonly SliceGroup[],
  judgeable: (g: SliceGroup) => boolean,
): SliceGroup | null {
  const rare = groups.filter((g) => !judgeable(g));
  if (rare.length < 2 || rare.length === groups.length) return null;
  const column = groups[0]!.column;
  const taken = new Set(groups.map((g) => g.value));
  return {
    column,
    value: taken.has(OTHER_SLICE_VALUE) ? `${OTHER_SLICE_VALUE} (pooled)` : OTHER_SLICE_VALUE,
    kind: "other",
    where: [{ column, values: rare.map((g) => g.value) }],
    rows: rare.flatMap((g) => g.rows).sort((a, b) => a - b),
  };
}

/** Every cell of two columns crossed that holds a row, ordered by the first column's value, then the second's. */
export function crossedGroups(
  n: number,
  a: string,
  b: string,
  valueOf: (row: number, column: string) => string,
): SliceGroup[] {
  const cells = new Map<string, number[]>();
  const parts = new Map<string, [string, string]>();
  for (let i = 0; i < n; i += 1) {
    const va = valueOf(i, a);
    const vb = valueOf(i, b);
    const key = JSON.stringify([va, vb]);
    if (!parts.has(key)) parts.set(key, [va, vb]);
    push(cells, key, i);
  }
  return [...parts.entries()]
    .sort(([, x], [, y]) => compareValues(x[0], y[0]) || compareValues(x[1], y[1]))
    .map(([key, [va, vb]]) => ({
      column: `${a}${CROSS_SEPARATOR}${b}`,
      value: `${va}${CROSS_SEPARATOR}${vb}`,
      kind: "cross" as const,
      where: [
        { column: a, values: [va] },
        { column: b, values: [vb] },
      ],
      rows: cells.get(key)!,
    }));
}

function push(groups: Map<string, number[]>, key: string, row: number): void {
  const rows = groups.get(key);
  if (rows) rows.push(row);
  else groups.set(key, [row]);
}

/** Numbers in numeric order (years), then other values in code-point order. */
export function compareValues(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  const aNum = a.trim() !== "" && Number.isFinite(na);
  const bNum = b.trim() !== "" && Number.isFinite(nb);
  if (aNum && bNum) return na - nb || (a < b ? -1 : a > b ? 1 : 0);
  if (aNum !== bNum) return aNum ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
