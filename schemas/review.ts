// Review records: what an upload row may hold, and the cleaned, labeled row every later step reads.
import { z } from "zod";
import { Label } from "./names.ts";

/** Names of the side features, in the order of `PreparedReview.features`. */
export const FEATURE_NAMES = ["price", "price_missing", "helpful_vote", "verified_purchase"] as const;

/**
 * Largest price (USD) an upload row or a prediction request may give. Amazon's dearest listings are below it; a larger
 * value is a unit or parsing error, and one such value would swamp the training split's price statistics.
 */
export const MAX_PRICE = 1_000_000;
/** Largest helpful-vote count: the most-voted Amazon reviews have a few hundred thousand. */
export const MAX_HELPFUL_VOTES = 10_000_000;

/** One row of a prepared split (`train.jsonl`, `validation.jsonl`, `test.jsonl`). */
export const PreparedReview = z.object({
  /** Review identity (`user_id|parent_asin|timestamp` where present), else a hash of the content. */
  id: z.string().min(1),
  /** 1-based line (JSONL) or record (CSV) number in the upload. */
  line: z.number().int().positive(),
  title: z.string(),
  text: z.string().min(1),
  rating: z.number().min(1).max(5),
  label: Label,
  /** Index of `label` in LABELS: 0 NEGATIVE, 1 NEUTRAL, 2 POSITIVE. */
  labelId: z.number().int().min(0).max(2),
  /** Milliseconds since the epoch (UTC), null when the upload has none. */
  timestamp: z.number().int().nullable(),
  /** Slice values by column, always strings; a missing value is the explicit string `unknown`. */
  slices: z.record(z.string(), z.string().min(1)),
  /** Side features scaled with training-split statistics, in FEATURE_NAMES order. */
  features: z.array(z.number()).length(FEATURE_NAMES.length),
});
export type PreparedReview = z.infer<typeof PreparedReview>;

/** Scaling statistics of the side features, computed on the training split only; serving applies the same. */
export const FeatureStats = z.object({
  names: z.array(z.string()),
  /** Fill value for a missing price (training median), before scaling. */
  priceFill: z.number(),
  priceMean: z.number(),
  priceStd: z.number().positive(),
  /** Helpful votes are scaled as log1p(votes). */
  helpfulMean: z.number(),
  helpfulStd: z.number().positive(),
  /**
   * Training rows whose upload gave each raw field (`price`, `helpful_vote`, `verified_purchase`): a field no row has
   * is a constant feature, which the model card does not present as something the model reads. Absent in data
   * prepared before it was counted.
   */
  present: z.record(z.string(), z.number().int().min(0)).optional(),
});
export type FeatureStats = z.infer<typeof FeatureStats>;

export const REJECT_REASONS = [
  "invalid_json",
  "invalid_csv",
  "invalid_utf8",
  "line_too_long",
  "not_an_object",
  "missing_text",
  "missing_rating",
  "invalid_rating",
  "invalid_field",
  "invalid_label",
  "duplicate",
] as const;
export const RejectReason = z.enum(REJECT_REASONS);
export type RejectReason = z.infer<typeof RejectReason>;

/** One line of `rejected.jsonl`. */
export const RejectedRow = z.object({
  line: z.number().int().positive(),
  reason: RejectReason,
  field: z.string().nullable(),
  message: z.string(),
  /** The raw line, cut to a few KB. */
  raw: z.string(),
  truncated: z.boolean(),
});
export type RejectedRow = z.infer<typeof RejectedRow>;

const Counts = z.record(z.string(), z.number().int().min(0));

export const SplitStats = z.object({
  rows: z.number().int().min(0),
  byLabel: Counts,
  bySlice: z.record(z.string(), Counts),
});
export type SplitStats = z.infer<typeof SplitStats>;

/** `stats.json` in the data folder. */
export const PreparedStats = z.object({
  input: z.string(),
  format: z.enum(["jsonl", "jsonl.gz", "csv", "csv.gz"]),
  schema: z.enum(["amazon-2023", "labeled-csv"]),
  rowsRead: z.number().int().min(0),
  rowsKept: z.number().int().min(0),
  rowsRejected: z.number().int().min(0),
  rejectedByReason: Counts,
  labelSource: z.object({ column: z.number().int().min(0), rating: z.number().int().min(0) }),
  splitMode: z.enum(["stratified", "chronological"]),
  seed: z.number().int(),
  splits: z.object({ train: SplitStats, validation: SplitStats, test: SplitStats }),
  /** Inverse-frequency class weights from the training split, in label order. */
  classWeights: z.array(z.number().positive()).length(3),
  featureStats: FeatureStats,
  /** sha256 of the kept rows and split assignment: identical inputs give identical fingerprints. */
  fingerprint: z.string(),
});
export type PreparedStats = z.infer<typeof PreparedStats>;
