// The model an instance serves: its tokenizer and metadata, the batcher in front of its sessions (created once), and
// what the answers say about it.
import type { Label } from "../schemas/names.ts";
import {
  argmax,
  encodeReviews,
  nonFiniteIndex,
  softmax,
  type EncodedRow,
  type LoadedModel,
  type ReviewInput,
} from "../gpu-jobs/inference/index.ts";
import { HttpError } from "./http-error.ts";
import { MicroBatcher, type BatcherStats, type Timers } from "./micro-batcher.ts";
import type { BatchRunner } from "./worker-pool.ts";

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
  /** Inference worker threads (0: batches run on the main thread) and onnxruntime threads per session. */
  workers: number;
  threads: number;
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
  private onnxRuns = 0;

  /**
   * `model` gives the tokenizer, labels and metadata; `runner` runs the batches (its own sessions, or the model's on
   * the main thread). Releasing the served model closes the runner.
   */
  constructor(
    readonly model: LoadedModel,
    readonly info: ModelInfo,
    private readonly runner: BatchRunner,
    batching: BatchingOptions,
  ) {
    const classes = model.labels.length;
    this.batcher = new MicroBatcher<EncodedRow, number[]>({
      windowMs: batching.windowMs,
      maxRows: batching.maxBatchRows,
      concurrency: runner.slots,
      ...(batching.timers ? { timers: batching.timers } : {}),
      run: async (rows) => {
        const { logits, runs } = await runner.run([...rows]);
        this.onnxRuns += runs;
        return rows.map((_, i) => Array.from(logits.subarray(i * classes, (i + 1) * classes)));
      },
    });
  }

  /**
   * Predictions for one request's reviews, in order: tokenized here (the batcher knows it is coming meanwhile), then
   * run together with concurrent requests.
   */
  async predict(reviews: readonly ReviewInput[]): Promise<ScoredPrediction[]> {
    const ticket = this.batcher.reserve();
    let rows: EncodedRow[];
    try {
      rows = await encodeReviews(this.model, reviews);
    } catch (err) {
      ticket.cancel();
      throw err;
    }
    const logits = await ticket.submit(rows);
    const labels = this.model.labels;
    // NaN would go out as JSON null under a label picked from nothing; a model that gives one is broken, not the request.
    const bad = logits.findIndex((row) => nonFiniteIndex(row) >= 0);
    if (bad >= 0) {
      throw new HttpError(
        500,
        `the model gave a non-finite score for review ${bad} of the request (${this.info.uri}/${this.info.file}); no prediction is returned`,
      );
    }
    return logits.map((row) => {
      const p = softmax(row);
      const scores = Object.fromEntries(labels.map((l, k) => [l, p[k]!])) as Record<Label, number>;
      return { label: labels[argmax(row)]!, scores };
    });
  }

  /** Requests and rows served, the batches they formed and the ONNX runs those took, since the model loaded. */
  get batchStats(): BatcherStats & { onnxRuns: number } {
    return { ...this.batcher.stats, onnxRuns: this.onnxRuns };
  }

  release(): Promise<void> {
    return this.runner.close();
  }
}
