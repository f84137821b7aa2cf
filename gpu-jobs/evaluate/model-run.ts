// One model over the test rows: features in the model's own scaling, tokenized, batched, run, predictions out.
import type { FeatureStats } from "../../schemas/review.ts";
import {
  argmax,
  nonFiniteIndex,
  encodeReviews,
  InvalidReviewError,
  runEncoded,
  type LoadedModel,
} from "../inference/index.ts";
import { NonRetryableJobError } from "../common/job-runtime.ts";
import { rescaleFeatures, sameScaling } from "./feature-scaling.ts";
import type { TestRow } from "./test-split.ts";

export interface ModelRun {
  /** Predicted class of each row, in row order. */
  predictions: Uint8Array;
  /** Logits, row-major [rows x classes]. */
  logits: Float32Array;
  /** Tokenizing and inference, in seconds. */
  seconds: number;
  /** True when the rows' features were moved to the model's own training statistics. */
  rescaled: boolean;
}

export interface ModelRunOptions {
  batchSize: number;
  /** Statistics the rows' features were scaled with (the data folder's stats.json). */
  dataFeatureStats: FeatureStats;
  onBatch?: (done: number, total: number) => void | Promise<void>;
}

export async function runModel(
  model: LoadedModel,
  rows: readonly TestRow[],
  options: ModelRunOptions,
): Promise<ModelRun> {
  const modelStats = model.metadata.features;
  const rescaled =
    model.usesFeatures && modelStats !== null && !sameScaling(options.dataFeatureStats, modelStats);
  const started = performance.now();
  const reviews = rows.map((r) => ({
    title: r.title,
    text: r.text,
    features:
      rescaled && modelStats ? rescaleFeatures(r.features, options.dataFeatureStats, modelStats) : r.features,
  }));
  let encoded: Awaited<ReturnType<typeof encodeReviews>>;
  try {
    encoded = await encodeReviews(model, reviews);
  } catch (err) {
    if (err instanceof InvalidReviewError) throw new NonRetryableJobError(`${model.uri}: ${err.message}`);
    throw err;
  }
  let logits: Float32Array;
  try {
    logits = await runEncoded(model, encoded, {
      batchSize: options.batchSize,
      ...(options.onBatch ? { onBatch: options.onBatch } : {}),
    });
  } catch (err) {
    const message = (err as Error).message;
    // Deterministic failures of the graph on valid inputs: retrying the job cannot help.
    if (/out of (data )?bounds|invalid|shape|unexpected input/i.test(message)) {
      throw new NonRetryableJobError(
        `${model.uri}/${model.file} fails on the test split: ${message.split("\n")[0]}`,
      );
    }
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  const classes = model.labels.length;
  const predictions = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i += 1) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    // A NaN or infinite logit would be scored as label 0; the same model gives it again on a retry.
    if (nonFiniteIndex(row) >= 0) {
      throw new NonRetryableJobError(
        `${model.uri}/${model.file} gives a non-finite logit on test row ${i + 1}: the model cannot be evaluated`,
      );
    }
    predictions[i] = argmax(row);
  }
  return { predictions, logits, seconds, rescaled };
}
