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

/** A slice's rows: those whose value of `column` is one of `values`, every condition holding. */
export const SliceCondition = z.object({ column: z.string().min(1), values: z.array(z.string()).min(1) });
export type SliceCondition = z.infer<typeof SliceCondition>;

/**
 * `value`: one value of one column; `other`: the values of a column too small to be judged, pooled; `cross`: one
 * cell of two columns crossed (column `year × main_category`, value `2022 × Books`).
 */
export const SliceKind = z.enum(["value", "other", "cross"]);
export type SliceKind = z.infer<typeof SliceKind>;

/** One slice's evaluation: what the bias rule reads. */
export const SliceResult = z.object({
  column: z.string(),
  value: z.string(),
  /** Absent in reports written before slices were pooled or crossed: a single value. */
  kind: SliceKind.optional(),
  /** Which rows an `other` or `cross` slice holds (what a mitigated re-training up-weights); absent for a value. */
  where: z.array(SliceCondition).min(1).optional(),
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
  /** Large enough to be judged: share >= minSliceShare, or support >= minSliceRows when that is set. */
  judged: z.boolean(),
  biased: z.boolean(),
  /** The bootstrap interval of the ratio lies wholly below the threshold. */
  significant: z.boolean(),
});
export type BiasFinding = z.infer<typeof BiasFinding>;

/** A pair of slice columns crossed: how many cells the test split holds, and how many were large enough to judge. */
export const CrossSummary = z.object({
  columns: z.tuple([z.string(), z.string()]),
  cells: z.number().int().min(0),
  judged: z.number().int().min(0),
});
export type CrossSummary = z.infer<typeof CrossSummary>;

/**
 * `slices.json`: every value of every configured column, each column's `other` slice, the crossed cells large enough
 * to be judged, full metrics included, and the champion's F1 on the same rows. Fields marked optional are absent in
 * reports written before they existed.
 */
export const SliceReport = z.object({
  overallF1: z.number().min(0).max(1),
  threshold: z.object({
    minSliceShare: z.number(),
    minSliceRows: z.number().int().nullable().optional(),
    sliceF1Ratio: z.number(),
    requireSignificance: z.boolean(),
    groupRareSlices: z.boolean().optional(),
    crossSlices: z.boolean().optional(),
  }),
  bootstrap: z.object({ resamples: z.number().int().min(0), confidence: z.number(), seed: z.number().int() }),
  testRows: z.number().int().min(0).optional(),
  /** The registered champion evaluated on the same rows, or null when there is none. */
  champion: z
    .object({ modelVersion: z.string(), overallF1: z.number().min(0).max(1) })
    .nullable()
    .optional(),
  crosses: z.array(CrossSummary).optional(),
  slices: z.array(
    BiasFinding.extend({
      judged: z.boolean().optional(),
      metrics: Metrics,
      /** The champion's weighted F1 on this slice's rows. */
      championF1: z.number().min(0).max(1).nullable().optional(),
    }),
  ),
});
export type SliceReport = z.infer<typeof SliceReport>;
