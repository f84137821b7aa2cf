// The tuning search space (the original pipeline's Optuna space) and the hyperparameters a trial picks.
import { z } from "zod";

export const MODEL_FAMILIES = ["bert", "roberta"] as const;
export const ModelFamily = z.enum(MODEL_FAMILIES);
export type ModelFamily = z.infer<typeof ModelFamily>;

const Range = (min: number, max: number) =>
  z
    .object({ low: z.number().min(min).max(max), high: z.number().min(min).max(max), log: z.boolean() })
    .refine((r) => r.low <= r.high, "low must not exceed high");

export const SearchSpace = z.object({
  modelFamilies: z.array(ModelFamily).min(1).default(["bert", "roberta"]),
  learningRate: Range(1e-7, 1).default({ low: 1e-5, high: 1e-3, log: true }),
  batchSizes: z.array(z.number().int().min(1).max(4096)).min(1).default([32, 64]),
  epochs: z
    .object({ low: z.number().int().min(1).max(100), high: z.number().int().min(1).max(100) })
    .refine((r) => r.low <= r.high, "low must not exceed high")
    .default({ low: 3, high: 5 }),
  weightDecay: Range(1e-8, 1).default({ low: 1e-4, high: 0.1, log: true }),
  dropout: Range(0, 0.95).default({ low: 0.1, high: 0.5, log: false }),
  trials: z.number().int().min(1).max(500).default(8),
  /**
   * Seconds the study may run (Optuna's `timeout`); 0 for no limit. No trial starts after it, and a running trial
   * stops at it: pruned when another trial completed, else it ends after its current epoch and keeps its best one.
   * The default (12 min) fits the realistic CPU run (minilm on the review sample, 2 cores) into 20 minutes end to end;
   * on a GPU the trials finish long before it.
   */
  timeBudget: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .default(720),
  /**
   * Trials run at once. Above 1 (emulators and gcp modes) the tune step submits a Vertex AI HyperparameterTuningJob
   * (the stand-in's on the emulators) that runs this many trials in parallel, each on its own machines.tune; at 1, or
   * in embedded mode, one job runs every trial in sequence under Optuna. docs/deploy.md: quotas and cost.
   */
  parallelTrials: z.number().int().min(1).max(100).default(1),
  /** Vertex AI's automated early stopping of trials (parallel tuning only); Optuna prunes by successive halving. */
  earlyStopping: z.enum(["median", "decayCurve", "none"]).default("median"),
});
export type SearchSpace = z.infer<typeof SearchSpace>;

/** One point of the search space: what tuning reports as best and training uses. */
export const HyperParams = z.object({
  modelFamily: ModelFamily,
  learningRate: z.number().positive(),
  batchSize: z.number().int().positive(),
  epochs: z.number().int().positive(),
  weightDecay: z.number().min(0),
  dropout: z.number().min(0).max(0.95),
});
export type HyperParams = z.infer<typeof HyperParams>;
