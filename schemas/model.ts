// What the trainer exports next to model.onnx: metadata read by evaluation, serving and the registry.
import { z } from "zod";
import { HyperParams, ModelFamily } from "./hyperparams.ts";
import { MetricsSummary } from "./metrics.ts";
import { FeatureStats } from "./review.ts";
import { LABELS } from "./names.ts";

/** `labels.json`: id -> label, always NEGATIVE, NEUTRAL, POSITIVE. */
export const LabelMap = z.tuple([z.literal(LABELS[0]), z.literal(LABELS[1]), z.literal(LABELS[2])]);
export type LabelMap = z.infer<typeof LabelMap>;

export const ModelFiles = z.object({
  onnx: z.literal("model.onnx"),
  onnxInt8: z.literal("model.int8.onnx"),
  tokenizer: z.literal("tokenizer.json"),
  labels: z.literal("labels.json"),
});

const F1Pair = z.object({ weightedF1: z.number().min(0).max(1), macroF1: z.number().min(0).max(1) });

/**
 * What became of the int8 export: judged by validation F1 against fp32's (agreement recorded, not gated). `served`
 * is the export evaluation and serving load when int8 is asked for: fp32 when int8 fell short, with the reason.
 */
export const Quantization = z.object({
  served: z.enum(["int8", "fp32"]),
  method: z.string(),
  tolerance: z.number().min(0).max(1),
  fp32: F1Pair,
  int8: F1Pair,
  agreement: z.number().min(0).max(1),
  examples: z.number().int().positive(),
  reason: z.string().nullable(),
  tried: z.array(z.string()),
});
export type Quantization = z.infer<typeof Quantization>;

/** `metadata.json` in a model folder. */
export const ModelMetadata = z.object({
  formatVersion: z.literal(1),
  runId: z.string(),
  trainAttempt: z.number().int().positive(),
  family: ModelFamily,
  /** What the config named: a Hugging Face id, a path, `minilm` or `tiny`. */
  baseModel: z.string(),
  maxLength: z.number().int().positive(),
  /** How the text is built before tokenizing. */
  textTemplate: z.literal("title + ' ' + text"),
  labels: LabelMap,
  inputs: z.array(z.enum(["input_ids", "attention_mask", "token_type_ids", "features"])).min(2),
  outputs: z.tuple([z.literal("logits")]),
  /** Null when the model does not use side features. */
  features: FeatureStats.nullable(),
  params: HyperParams,
  mitigation: z.unknown().nullable(),
  dataFingerprint: z.string(),
  validation: MetricsSummary,
  parity: z.object({
    maxAbsLogitDiff: z.number().min(0),
    int8Agreement: z.number().min(0).max(1),
    examples: z.number().int().positive(),
  }),
  /** Absent in folders exported before int8 was judged by F1 (their int8 passed a 99% agreement gate). */
  quantization: Quantization.optional(),
  createdAt: z.string(),
});
export type ModelMetadata = z.infer<typeof ModelMetadata>;
