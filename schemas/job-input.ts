// What each job receives on its command line: one flag per field, objects as JSON (see gpu-jobs/specs).
import { z } from "zod";
import { HyperParams, SearchSpace, ModelFamily } from "./hyperparams.ts";
import { MitigationPlan } from "./mitigation.ts";
import { Rules, DataConfig, Evaluation } from "./config.ts";
import { RunId } from "./names.ts";

/** Fields every job gets: where the run lives and which attempt this is. */
const Common = z.object({
  runId: RunId,
  attempt: z.number().int().positive(),
  correlationId: z.string().min(1),
  /** The run folder, `gs://BUCKET/runs/RUN_ID`. */
  runDir: z.string().min(1),
  /** This attempt's own folder, `<runDir>/<step>/a<attempt>`. */
  outDir: z.string().min(1),
});

export const PrepareJobInput = Common.extend({
  step: z.literal("prepare"),
  input: z.string().min(1),
  sliceColumns: z.array(z.string()),
  data: DataConfig,
});
export type PrepareJobInput = z.infer<typeof PrepareJobInput>;

const ModelSettings = z.object({
  dataDir: z.string().min(1),
  models: z.record(ModelFamily, z.string().min(1)),
  maxLength: z.number().int().min(8).max(512),
  seed: z.number().int().min(0),
  useSideFeatures: z.boolean(),
  earlyStoppingPatience: z.number().int().min(0),
  warmupRatio: z.number().min(0).max(0.5),
  maxGradNorm: z.number().positive(),
});

export const TuneJobInput = Common.extend(ModelSettings.shape).extend({
  step: z.literal("tune"),
  search: SearchSpace,
});
export type TuneJobInput = z.infer<typeof TuneJobInput>;

export const TrainJobInput = Common.extend(ModelSettings.shape).extend({
  step: z.literal("train"),
  params: HyperParams,
  mitigation: MitigationPlan.nullable(),
  /**
   * training.int8F1Tolerance: how far below fp32's the int8 export's validation F1s may be and still be served.
   * Optional, so that inputs written before it (benchmarks, older launches) still parse: the trainer then uses 0.02.
   */
  int8F1Tolerance: z.number().min(0).max(1).optional(),
});
export type TrainJobInput = z.infer<typeof TrainJobInput>;

export const EvaluateJobInput = Common.extend({
  step: z.literal("evaluate"),
  dataDir: z.string().min(1),
  modelDir: z.string().min(1),
  rules: Rules,
  /** The config's evaluation settings, with `served` already resolved to the export serving loads. */
  evaluation: Evaluation.extend({ onnx: z.enum(["int8", "fp32"]).default("int8") }),
});
export type EvaluateJobInput = z.infer<typeof EvaluateJobInput>;

export const JobInput = z.discriminatedUnion("step", [
  PrepareJobInput,
  TuneJobInput,
  TrainJobInput,
  EvaluateJobInput,
]);
export type JobInput = z.infer<typeof JobInput>;
