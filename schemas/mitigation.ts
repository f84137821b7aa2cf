// The plan a biased evaluation hands to the mitigated re-training: which slices, what example weights.
import { z } from "zod";
import { SliceCondition } from "./metrics.ts";

export const SliceWeight = z.object({
  column: z.string(),
  value: z.string(),
  /** The rows of a pooled (`other`) or crossed slice: every condition holds. Absent: rows whose `column` is `value`. */
  where: z.array(SliceCondition).min(1).optional(),
  /** Multiplier of the loss of every training example in this slice (examples in several slices take the largest). */
  weight: z.number().min(1),
  /** Why: the slice's F1 and ratio when it was found biased. */
  f1: z.number().min(0).max(1),
  ratio: z.number().min(0),
});
export type SliceWeight = z.infer<typeof SliceWeight>;

export const MitigationPlan = z.object({
  method: z.literal("reweight"),
  slices: z.array(SliceWeight).min(1),
  /** Evaluation attempt whose findings led to this plan. */
  fromEvaluationAttempt: z.number().int().positive(),
});
export type MitigationPlan = z.infer<typeof MitigationPlan>;
