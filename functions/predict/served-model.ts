// The model an instance serves: its onnxruntime session (created once), the batcher in front of it, and what the
// answers say about it.
import type { Label } from "../../schemas/names.ts";
import {
  argmax,
  encodeReviews,
  runEncoded,
  softmax,
  type EncodedRow,
  type LoadedModel,
  type ReviewInput,
} from "../../gpu-jobs/inference/index.ts";
import { MicroBatcher, type BatcherStats, type Timers } from "./micro-batcher.ts";

/** Version information every answer carries, so a caller can tell which model answered. */
export interface ModelInfo {
  runId: string;
  trainAttempt: number;
  family: string;
  baseModel: string;
  /** The registry's version number when the model is the registry's champion, else null. */
  registryVersion: string | null;
  /** The model folder it was loaded from (gs:// or local). */
  uri: string;
  file: string;
  quantized: boolean;
  maxLength: number;
  usesSideFeatures: boolean;
  createdAt: string;
}

export interface ScoredPrediction {
  label: Label;
  scores: Record<Label, number>;
}

export interface BatchingOptions {
  windowMs: number;
  maxBatchRows: number;
  timers?: Timers;
}

export class ServedModel {
  private readonly batcher: MicroBatcher<EncodedRow, number[]>;

  constructor(
    readonly model: LoadedModel,
    readonly info: ModelInfo,
    batching: BatchingOptions,
  ) {
    const classes = model.labels.length;
    this.batcher = new MicroBatcher<EncodedRow, number[]>({
      windowMs: batching.windowMs,
      maxRows: batching.maxBatchRows,
      ...(batching.timers ? { timers: batching.timers } : {}),
      // One ONNX run per batch (more only when one request alone holds more rows than maxBatchRows).
      run: async (rows) => {
        const logits = await runEncoded(model, rows, { batchSize: batching.maxBatchRows });
        return rows.map((_, i) => Array.from(logits.subarray(i * classes, (i + 1) * classes)));
      },
    });
  }

  /** Predictions for one request's reviews, in order; tokenized here, run together with concurrent requests. */
  async predict(reviews: readonly ReviewInput[]): Promise<ScoredPrediction[]> {
    const rows = await encodeReviews(this.model, reviews);
    const logits = await this.batcher.submit(rows);
    const labels = this.model.labels;
    return logits.map((row) => {
      const p = softmax(row);
      const scores = Object.fromEntries(labels.map((l, k) => [l, p[k]!])) as Record<Label, number>;
      return { label: labels[argmax(row)]!, scores };
    });
  }

  get batchStats(): BatcherStats {
    return this.batcher.stats;
  }

  release(): Promise<void> {
    return this.model.release();
  }
}
