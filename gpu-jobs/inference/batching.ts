// Length-sorted, dynamically padded batches: rows of similar length run together, padded only to the longest.
import { Tensor } from "onnxruntime-node";

export interface EncodedRow {
  ids: Int32Array;
  /** Scaled side features, or null when the model does not take them. */
  features: readonly number[] | null;
}

export interface Batch {
  /** Positions of the batch's rows in the encoded list. */
  rows: number[];
  /** The longest row of the batch: every row is padded to it. */
  length: number;
}

/** Groups rows into batches of at most batchSize, longest first, so each batch pads to a near-equal length. */
export function planBatches(lengths: readonly number[], batchSize: number): Batch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const batches: Batch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.slice(start, start + batchSize);
    batches.push({ rows, length: Math.max(1, ...rows.map((r) => lengths[r]!)) });
  }
  return batches;
}

/** The feeds of one batch for a model taking these inputs (input_ids, attention_mask, token_type_ids, features). */
export function batchFeeds(
  inputs: readonly string[],
  rows: readonly EncodedRow[],
  batch: Batch,
  padId: number,
  featureCount: number,
): Record<string, Tensor> {
  const n = batch.rows.length;
  const s = batch.length;
  const ids = new BigInt64Array(n * s).fill(BigInt(padId));
  const mask = new BigInt64Array(n * s);
  const features = new Float32Array(n * featureCount);
  batch.rows.forEach((r, b) => {
    const row = rows[r]!;
    for (let t = 0; t < row.ids.length; t += 1) {
      ids[b * s + t] = BigInt(row.ids[t]!);
      mask[b * s + t] = 1n;
    }
    if (row.features) features.set(row.features, b * featureCount);
  });
  const feeds: Record<string, Tensor> = {};
  for (const name of inputs) {
    if (name === "input_ids") feeds[name] = new Tensor("int64", ids, [n, s]);
    else if (name === "attention_mask") feeds[name] = new Tensor("int64", mask, [n, s]);
    else if (name === "token_type_ids") feeds[name] = new Tensor("int64", new BigInt64Array(n * s), [n, s]);
    else if (name === "features") feeds[name] = new Tensor("float32", features, [n, featureCount]);
    else throw new Error(`unknown model input ${name}`);
  }
  return feeds;
}
