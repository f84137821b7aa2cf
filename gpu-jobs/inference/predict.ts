// Runs reviews through a loaded model: tokenize, batch by length, run, and hand back logits and probabilities.
import { FEATURE_NAMES } from "../../schemas/review.ts";
import type { Label } from "../../schemas/names.ts";
import { batchFeeds, planBatches, type Batch, type EncodedRow } from "./batching.ts";
import type { LoadedModel } from "./load-model.ts";
import { InvalidReviewError } from "./model-errors.ts";
import { reviewText } from "./review-tokenizer.ts";

export interface ReviewInput {
  title: string;
  text: string;
  /** Side features, scaled as in training (FEATURE_NAMES order); required when the model takes them. */
  features?: readonly number[] | null;
}

export interface Prediction {
  labelId: number;
  label: Label;
  logits: number[];
  probabilities: number[];
}

export interface RunOptions {
  /** Rows per forward pass (default 64). */
  batchSize?: number;
  /**
   * How the rows are grouped into forward passes, from their token counts (default: planBatches with batchSize).
   * Every row must be in exactly one batch.
   */
  plan?: (lengths: readonly number[]) => Batch[];
  /** Called after each batch with the number of batches done and planned. */
  onBatch?: (done: number, total: number) => void | Promise<void>;
}

/** Texts encoded per call to the tokenizer: bounds memory while keeping its thread pool busy. */
const ENCODE_CHUNK = 1024;

/** Tokenizes reviews for this model; features are checked when the model takes them and dropped otherwise. */
export async function encodeReviews(
  model: LoadedModel,
  reviews: readonly ReviewInput[],
): Promise<EncodedRow[]> {
  const rows: EncodedRow[] = [];
  for (let start = 0; start < reviews.length; start += ENCODE_CHUNK) {
    const chunk = reviews.slice(start, start + ENCODE_CHUNK);
    const ids = await model.tokenizer.encode(chunk.map((r) => reviewText(r.title, r.text)));
    chunk.forEach((r, i) =>
      rows.push({ ids: ids[i]!, features: model.usesFeatures ? checkFeatures(r, start + i) : null }),
    );
  }
  return rows;
}

/** Logits of every row, row-major [rows x classes], in the order given (batches run longest first). */
export async function runEncoded(
  model: LoadedModel,
  rows: readonly EncodedRow[],
  options: RunOptions = {},
): Promise<Float32Array> {
  const classes = model.labels.length;
  const out = new Float32Array(rows.length * classes);
  const lengths = rows.map((r) => r.ids.length);
  const batches = options.plan
    ? checkPlan(options.plan(lengths), lengths)
    : planBatches(lengths, options.batchSize ?? 64);
  for (const [k, batch] of batches.entries()) {
    const feeds = batchFeeds(model.metadata.inputs, rows, batch, model.tokenizer.padId, FEATURE_NAMES.length);
    const result = await model.session.run(feeds);
    const logits = result.logits;
    if (!logits || logits.type !== "float32" || logits.dims.length !== 2 || logits.dims[1] !== classes) {
      throw new Error(
        `${model.uri}/${model.file} returned logits of shape [${logits?.dims.join(", ") ?? ""}]; expected [batch, ${classes}]`,
      );
    }
    const data = logits.data as Float32Array;
    batch.rows.forEach((r, b) => out.set(data.subarray(b * classes, (b + 1) * classes), r * classes));
    await options.onBatch?.(k + 1, batches.length);
  }
  return out;
}

/** Predictions for reviews, in the order given. */
export async function predict(
  model: LoadedModel,
  reviews: readonly ReviewInput[],
  options: RunOptions = {},
): Promise<Prediction[]> {
  const rows = await encodeReviews(model, reviews);
  const logits = await runEncoded(model, rows, options);
  const classes = model.labels.length;
  return reviews.map((_, i) => {
    const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
    const labelId = argmax(row);
    return { labelId, label: model.labels[labelId]!, logits: row, probabilities: softmax(row) };
  });
}

/**
 * Index of the largest value; the first one on ties, as numpy's and torch's argmax. A NaN has no place in an order
 * (every comparison with it is false, so the answer would silently be 0, NEGATIVE): it throws instead.
 */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 0; i < values.length; i += 1) {
    if (Number.isNaN(values[i])) throw new RangeError(`argmax of a NaN (at index ${i} of ${values.length})`);
    if (values[i]! > values[best]!) best = i;
  }
  return best;
}

/** The first index whose value is NaN or infinite, or -1: logits that cannot be turned into scores or a label. */
export function nonFiniteIndex(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i += 1) if (!Number.isFinite(values[i])) return i;
  return -1;
}

export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

function checkFeatures(review: ReviewInput, index: number): readonly number[] {
  const f = review.features;
  if (!f || f.length !== FEATURE_NAMES.length || !f.every(Number.isFinite)) {
    throw new InvalidReviewError(
      `review ${index}: the model takes ${FEATURE_NAMES.length} scaled side features (${FEATURE_NAMES.join(", ")}), got ${f ? JSON.stringify(f) : "none"}`,
    );
  }
  return f;
}

/** A custom plan must cover every row exactly once, each batch as long as its longest row, or logits would be wrong. */
function checkPlan(batches: Batch[], lengths: readonly number[]): Batch[] {
  const seen = new Uint8Array(lengths.length);
  for (const b of batches) {
    for (const r of b.rows) {
      if (!Number.isInteger(r) || r < 0 || r >= lengths.length || seen[r]) {
        throw new Error(`the batch plan places row ${r} wrongly (${lengths.length} rows, each exactly once)`);
      }
      if (lengths[r]! > b.length) {
        throw new Error(`the batch plan pads to ${b.length} tokens a row of ${lengths[r]}`);
      }
      seen[r] = 1;
    }
  }
  if (seen.some((v) => v === 0))
    throw new Error(`the batch plan leaves rows out (${lengths.length} rows, each exactly once)`);
  return batches;
}
