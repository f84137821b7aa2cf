// How a gathered batch goes through the model: rows grouped by token count so that padding costs little. On a CPU a
// padded token costs as much as a real one and batching itself saves little, so a batch padded to its one long review
// would cost more than running its short reviews apart.
import type { Batch } from "../gpu-jobs/inference/index.ts";

/**
 * What one extra ONNX run costs, in tokens of work: the per-run overhead (feeds, kernel launches) that grouping rows
 * saves. Small: on the development machine a one-row run of 16 tokens takes about as long per token as one of 64.
 */
export const RUN_COST_TOKENS = 8;

/**
 * The partition of the rows, sorted longest first, into runs of at most `maxRows` that minimizes the padded tokens
 * plus `runCost` per run (dynamic programming over the sorted lengths: each run pads to its first, longest row).
 */
export function planByLength(
  lengths: readonly number[],
  maxRows: number,
  runCost: number = RUN_COST_TOKENS,
): Batch[] {
  if (!Number.isInteger(maxRows) || maxRows < 1)
    throw new Error(`maxRows must be a positive integer, got ${maxRows}`);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const n = order.length;
  const len = (k: number): number => Math.max(1, lengths[order[k]!]!);
  // best[j]: least cost of the first j sorted rows; cut[j]: where the last run of that solution starts.
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let j = 1; j <= n; j++) {
    for (let i = Math.max(0, j - maxRows); i < j; i++) {
      const cost = best[i]! + runCost + len(i) * (j - i);
      if (cost < best[j]!) {
        best[j] = cost;
        cut[j] = i;
      }
    }
  }
  const batches: Batch[] = [];
  for (let j = n; j > 0; j = cut[j]!) {
    const i = cut[j]!;
    batches.push({ rows: order.slice(i, j), length: len(i) });
  }
  return batches.reverse();
}
