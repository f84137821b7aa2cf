// Assigns each kept row to train, validation or test: stratified by label (exact shares per class) or
// chronological (newest rows to test). Deterministic for a seed and independent of the file's row order.

export const SPLIT_NAMES = ["train", "validation", "test"] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
export const TRAIN = 0;
export const VALIDATION = 1;
export const TEST = 2;

export interface SplitShares {
  train: number;
  validation: number;
  test: number;
}

export interface SplitInput {
  /** Label id per row. */
  labels: Uint8Array;
  /** Per row, a number in [0, 1) from the row's identity and the seed (see splitKey). */
  keys: Float64Array;
  /** Milliseconds per row, NaN when unknown. */
  timestamps: Float64Array;
}

/** Split index (0 train, 1 validation, 2 test) per row. */
export function assignSplits(
  input: SplitInput,
  mode: "stratified" | "chronological",
  shares: SplitShares,
): Uint8Array {
  const n = input.labels.length;
  const out = new Uint8Array(n); // all train to begin with
  if (mode === "stratified") {
    // Row indices grouped by label in typed arrays: a million rows cost 4 MB here, not a JS array each.
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) counts.set(input.labels[i]!, (counts.get(input.labels[i]!) ?? 0) + 1);
    const groups = new Map<number, { rows: Uint32Array; filled: number }>();
    for (const [label, count] of counts) groups.set(label, { rows: new Uint32Array(count), filled: 0 });
    for (let i = 0; i < n; i++) {
      const g = groups.get(input.labels[i]!)!;
      g.rows[g.filled++] = i;
    }
    for (const { rows } of groups.values()) {
      rows.sort((a, b) => input.keys[a]! - input.keys[b]! || a - b);
      cut(rows, shares, out, "first");
    }
    return out;
  }
  // Chronological: oldest first; rows without a timestamp count as oldest, so they train and never leak into test.
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const ts = input.timestamps;
  order.sort((a, b) => {
    const ta = ts[a]!;
    const tb = ts[b]!;
    const na = Number.isNaN(ta);
    const nb = Number.isNaN(tb);
    if (na !== nb) return na ? -1 : 1;
    return (na ? 0 : ta - tb) || input.keys[a]! - input.keys[b]! || a - b;
  });
  cut(order, shares, out, "last");
  return out;
}

/** Marks test and validation rows at one end of the order: `first` for shuffled keys, `last` for the newest. */
function cut(order: Uint32Array, shares: SplitShares, out: Uint8Array, end: "first" | "last"): void {
  const n = order.length;
  const nTest = Math.min(n, Math.round(n * shares.test));
  const nValidation = Math.min(n - nTest, Math.round(n * shares.validation));
  for (let k = 0; k < nTest + nValidation; k++) {
    const pos = end === "first" ? k : n - 1 - k;
    out[order[pos]!] = k < nTest ? TEST : VALIDATION;
  }
}
