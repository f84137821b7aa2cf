// Evaluation results: overall metrics, a classification report, slice reports with bootstrap intervals.
import { z } from "zod";
import { Label } from "./names.ts";

export const ClassMetrics = z.object({
  precision: z.number().min(0).max(1),
  recall: z.number().min(0).max(1),
  f1: z.number().min(0).max(1),
  support: z.number().int().min(0),
});
export type ClassMetrics = z.infer<typeof ClassMetrics>;

export const Metrics = z.object({
  accuracy: z.number().min(0).max(1),
  weightedPrecision: z.number().min(0).max(1),
  weightedRecall: z.number().min(0).max(1),
  weightedF1: z.number().min(0).max(1),
  macroPrecision: z.number().min(0).max(1),
  macroRecall: z.number().min(0).max(1),
  macroF1: z.number().min(0).max(1),
  perClass: z.record(Label, ClassMetrics),
  /** confusion[i][j]: rows with true label i predicted as j, in label order. */
  confusion: z.array(z.array(z.number().int().min(0))),
  support: z.number().int().min(0),
});
export type Metrics = z.infer<typeof Metrics>;

/** The few numbers the rules need, carried in events. */
export const MetricsSummary = z.object({
  accuracy: z.number().min(0).max(1),
  weightedF1: z.number().min(0).max(1),
  macroF1: z.number().min(0).max(1),
});
export type MetricsSummary = z.infer<typeof MetricsSummary>;

export const Interval = z.object({ low: z.number(), high: z.number() });
export type Interval = z.infer<typeof Interval>;

/** One slice value's evaluation: what the bias rule reads. */
export const SliceResult = z.object({
  column: z.string(),
  value: z.string(),
  support: z.number().int().min(0),
  /** support / test rows. */
  share: z.number().min(0).max(1),
  f1: z.number().min(0).max(1),
  /** f1 / overall weighted F1 (0 when the overall F1 is 0). */
  ratio: z.number().min(0),
  f1Interval: Interval.nullable(),
  ratioInterval: Interval.nullable(),
});
export type SliceResult = z.infer<typeof SliceResult>;

/** `metrics.json`: the model under test, and the champion on the same split when there is one. */
export const MetricsReport = z.object({
  runId: z.string(),
  attempt: z.number().int().positive(),
  modelUri: z.string(),
  /** The ONNX export evaluated (`model.int8.onnx` or `model.onnx`); absent in reports written before it was kept. */
  modelFile: z.string().optional(),
  testRows: z.number().int().min(0),
  metrics: Metrics,
  /** scikit-learn style text table. */
  classificationReport: z.string(),
  champion: z.object({ modelVersion: z.string(), modelUri: z.string(), metrics: Metrics }).nullable(),
  throughput: z.object({ reviewsPerSecond: z.number().min(0), provider: z.string() }).optional(),
});
export type MetricsReport = z.infer<typeof MetricsReport>;

export const BiasFinding = SliceResult.extend({
  biased: z.boolean(),
  /** The bootstrap interval of the ratio lies wholly below the threshold. */
  significant: z.boolean(),
});
export type BiasFinding = z.infer<typeof BiasFinding>;

/** `slices.json`: every slice of every configured column, full metrics included. */
export const SliceReport = z.object({
  overallF1: z.number().min(0).max(1),
  threshold: z.object({
    minSliceShare: z.number(),
    sliceF1Ratio: z.number(),
    requireSignificance: z.boolean(),
  }),
  bootstrap: z.object({ resamples: z.number().int().min(0), confidence: z.number(), seed: z.number().int() }),
  slices: z.array(BiasFinding.extend({ metrics: Metrics })),
});
export type SliceReport = z.infer<typeof SliceReport>;
