// Counts per split, label and slice value, and class weights from the training split: stats.json's numbers.
import { LABELS } from "../../schemas/names.ts";
import type { SplitStats } from "../../schemas/review.ts";
import type { KeptRows } from "./kept-rows.ts";
import { SPLIT_NAMES, TRAIN, type SplitName } from "./split.ts";

export function splitStats(kept: KeptRows, splits: Uint8Array): Record<SplitName, SplitStats> {
  const columns = kept.sliceColumns;
  const byLabel = SPLIT_NAMES.map(() => new Array<number>(LABELS.length).fill(0));
  const bySlice = SPLIT_NAMES.map(() =>
    columns.map((_, c) => new Array<number>(kept.dictionaries[c]!.values.length).fill(0)),
  );
  const rows = [0, 0, 0];
  const labels = kept.labels;
  const sliceIds = columns.map((_, c) => kept.sliceIdsOf(c));
  for (let i = 0; i < kept.count; i++) {
    const s = splits[i]!;
    rows[s]! += 1;
    byLabel[s]![labels[i]!]! += 1;
    for (let c = 0; c < columns.length; c++) bySlice[s]![c]![sliceIds[c]![i]!]! += 1;
  }
  const out = {} as Record<SplitName, SplitStats>;
  SPLIT_NAMES.forEach((name, s) => {
    out[name] = {
      rows: rows[s]!,
      byLabel: Object.fromEntries(LABELS.map((l, k) => [l, byLabel[s]![k]!])),
      bySlice: Object.fromEntries(
        columns.map((col, c) => {
          const values = kept.dictionaries[c]!.values;
          // Sorted by value so that the file reads the same whatever order the rows came in.
          const entries = values.map((v, k) => [v, bySlice[s]![c]![k]!] as const).filter(([, n]) => n > 0);
          entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          return [col, Object.fromEntries(entries)];
        }),
      ),
    };
  });
  return out;
}

/**
 * Inverse-frequency ("balanced") weights from the training split: n / (classes * n_class). A class absent from
 * training gets 1, since no training row carries it.
 */
export function classWeights(train: SplitStats): number[] {
  const n = train.rows;
  return LABELS.map((l) => {
    const count = train.byLabel[l] ?? 0;
    return count === 0 ? 1 : n / (LABELS.length * count);
  });
}

/** Raw feature values of the training rows, for the scaling statistics. */
export function trainingFeatureValues(
  kept: KeptRows,
  splits: Uint8Array,
): { prices: Float64Array; helpfulVotes: Float64Array; present: Record<string, number> } {
  let n = 0;
  for (let i = 0; i < kept.count; i++) if (splits[i] === TRAIN) n += 1;
  const prices = new Float64Array(n);
  const helpfulVotes = new Float64Array(n);
  const p = kept.prices;
  const h = kept.helpfulVotes;
  const v = kept.verifiedFlags;
  const present = { price: 0, helpful_vote: 0, verified_purchase: 0 };
  let k = 0;
  for (let i = 0; i < kept.count; i++) {
    if (splits[i] !== TRAIN) continue;
    prices[k] = p[i]!;
    helpfulVotes[k] = h[i]!;
    // NaN (and flag 2) is how kept rows mark a field the upload did not give.
    if (!Number.isNaN(p[i]!)) present.price += 1;
    if (!Number.isNaN(h[i]!)) present.helpful_vote += 1;
    if (v[i] !== 2) present.verified_purchase += 1;
    k += 1;
  }
  return { prices, helpfulVotes, present };
}
