// `analysis.json`: the evaluate job's error analysis (confident mistakes, calibration, precision-recall), bounded in size.
import { z } from "zod";
import { Label } from "./names.ts";

/** How much of the test split the file may carry: a few examples and fixed-size curves, whatever the split's size. */
export const ANALYSIS_LIMITS = {
  /** Most confident mistakes kept per true class. */
  mistakesPerClass: 5,
  /** Review text is cut to this many characters (code points), the title to TITLE_CHARS. */
  textChars: 280,
  titleChars: 100,
  /** Points kept per precision-recall curve (the average precision is computed on every row). */
  curvePoints: 200,
  /** Equal-width confidence bins of the reliability diagram. */
  calibrationBins: 10,
} as const;

const Probability = z.number().min(0).max(1);

/** A test row the model got wrong, with its text cut short. The text is the user's data: escape it wherever shown. */
export const Mistake = z.object({
  id: z.string().max(500),
  /** Line in test.jsonl (1-based). */
  line: z.number().int().positive(),
  label: Label,
  predicted: Label,
  /** The predicted class's probability. */
  confidence: Probability,
  /** Class probabilities in label order. */
  probabilities: z.array(Probability).length(3),
  title: z.string().max(ANALYSIS_LIMITS.titleChars + 1),
  text: z.string().max(ANALYSIS_LIMITS.textChars + 1),
  /** The title or text was longer than what is kept. */
  truncated: z.boolean(),
});
export type Mistake = z.infer<typeof Mistake>;

/** One equal-width bin of the max probability: rows in it, their accuracy and mean confidence (null when empty). */
export const CalibrationBin = z.object({
  low: Probability,
  high: Probability,
  count: z.number().int().min(0),
  accuracy: Probability.nullable(),
  confidence: Probability.nullable(),
});
export type CalibrationBin = z.infer<typeof CalibrationBin>;

export const Calibration = z.object({
  bins: z.array(CalibrationBin).min(1).max(100),
  /** Expected calibration error: sum over bins of (rows in bin / rows) x |accuracy - mean confidence|. */
  ece: Probability,
  /** Largest |accuracy - mean confidence| over the non-empty bins. */
  mce: Probability,
});
export type Calibration = z.infer<typeof Calibration>;

/** One class against the rest: average precision as scikit-learn computes it, and the curve thinned for plotting. */
export const PrecisionRecallCurve = z.object({
  label: Label,
  /** Test rows of this class. */
  positives: z.number().int().min(0),
  /** Null when the class has no test row (the curve is undefined). */
  averagePrecision: Probability.nullable(),
  points: z
    .array(z.object({ recall: Probability, precision: Probability }))
    .max(ANALYSIS_LIMITS.curvePoints + 2),
});
export type PrecisionRecallCurve = z.infer<typeof PrecisionRecallCurve>;

export const ErrorAnalysis = z.object({
  testRows: z.number().int().min(0),
  mistakesPerClass: z.number().int().min(0),
  /** Per true class, most confident first. */
  mistakes: z.array(Mistake).max(3 * ANALYSIS_LIMITS.mistakesPerClass),
  calibration: Calibration,
  precisionRecall: z.array(PrecisionRecallCurve).length(3),
});
export type ErrorAnalysis = z.infer<typeof ErrorAnalysis>;
