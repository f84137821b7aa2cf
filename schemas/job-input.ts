// What each job receives on its command line: one flag per field, objects as JSON (see gpu-jobs/specs).
import { z } from "zod";
import { HyperParams, SearchSpace, ModelFamily } from "./hyperparams.ts";
import { MitigationPlan } from "./mitigation.ts";
import { Rules, DataConfig, Evaluation } from "./config.ts";
import { BucketName, GcsUri, RunId } from "./names.ts";
import { ModelLine } from "./model-line.ts";

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

/**
 * Where a job may read and write: its run folder is `gs://BUCKET/runs/RUN_ID` for its own run id, its output folder
 * that folder's `<step>/a<attempt>`, and what it reads is this run's prepared data and trained model in the same
 * bucket. A job given `/etc`, `../../etc`, `file:///etc`, another bucket or another run's model refuses to start
 * (the job runtime then checks the bucket against its config).
 */
function jobLocations(
  input: {
    step: string;
    runId: string;
    attempt: number;
    runDir: string;
    outDir: string;
    input?: string;
    dataDir?: string;
    modelDir?: string;
  },
  ctx: z.RefinementCtx,
): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  const m = /^gs:\/\/([^/]+)\/runs\/([^/]+)$/.exec(input.runDir);
  if (!m || !BucketName.safeParse(m[1]).success || m[2] !== input.runId) {
    issue("runDir", `must be gs://BUCKET/runs/${input.runId} (this job's run folder)`);
    return;
  }
  const bucket = m[1]!;
  const outDir = `${input.runDir}/${input.step}/a${input.attempt}`;
  if (input.outDir !== outDir) issue("outDir", `must be ${outDir} (this step attempt's own folder)`);
  const under = (path: string, uri: string, folder: RegExp, what: string) => {
    const ok =
      GcsUri.safeParse(uri).success &&
      uri.startsWith(`gs://${bucket}/`) &&
      folder.test(uri.slice(bucket.length + 6));
    if (!ok)
      issue(
        path,
        `must be ${what} under gs://${bucket}/runs/${input.runId}/, got ${JSON.stringify(uri.slice(0, 200))}`,
      );
  };
  const run = `runs/${input.runId}`;
  if (input.dataDir !== undefined)
    under(
      "dataDir",
      input.dataDir,
      new RegExp(`^${run}/prepare/a[1-9]\\d*/?$`),
      "this run's prepare folder (prepare/aN)",
    );
  if (input.modelDir !== undefined)
    under(
      "modelDir",
      input.modelDir,
      new RegExp(`^${run}/train/a[1-9]\\d*/.+`),
      "a model folder of this run (train/aN/...)",
    );
  if (input.input !== undefined)
    under("input", input.input, /^[^/]/, "an uploaded object in the run's bucket");
}

export const PrepareJobInput = Common.extend({
  step: z.literal("prepare"),
  input: z.string().min(1),
  sliceColumns: z.array(z.string()),
  data: DataConfig,
}).superRefine(jobLocations);
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
  /** training.compileStep; optional, so that inputs written before it still parse (the trainer then uses `auto`). */
  compileStep: z.enum(["auto", "graphs", "off"]).optional(),
});

export const TuneJobInput = Common.extend(ModelSettings.shape)
  .extend({
    step: z.literal("tune"),
    search: SearchSpace,
  })
  .superRefine(jobLocations);
export type TuneJobInput = z.infer<typeof TuneJobInput>;

export const TrainJobInput = Common.extend(ModelSettings.shape)
  .extend({
    step: z.literal("train"),
    params: HyperParams,
    mitigation: MitigationPlan.nullable(),
    /**
     * training.int8F1Tolerance: how far below fp32's the int8 export's validation F1s may be and still be served.
     * Optional, so that inputs written before it (benchmarks, older launches) still parse: the trainer then uses 0.02.
     */
    int8F1Tolerance: z.number().min(0).max(1).optional(),
  })
  .superRefine(jobLocations);
export type TrainJobInput = z.infer<typeof TrainJobInput>;

export const EvaluateJobInput = Common.extend({
  step: z.literal("evaluate"),
  dataDir: z.string().min(1),
  modelDir: z.string().min(1),
  /** The model line of the model under test: only this line's champion is evaluated beside it. */
  modelLine: ModelLine,
  rules: Rules,
  /** The config's evaluation settings, with `served` already resolved to the export serving loads. */
  evaluation: Evaluation.extend({ onnx: z.enum(["int8", "fp32"]).default("int8") }),
  /**
   * The config's star cut-offs (data.labels): with them the job tells the line of a model registered before lines, to
   * compare with it while the line has no champion of its own. Optional, so that older inputs still parse.
   */
  labels: z.object({ negativeMax: z.number(), positiveMin: z.number() }).optional(),
}).superRefine(jobLocations);
export type EvaluateJobInput = z.infer<typeof EvaluateJobInput>;

export const JobInput = z.discriminatedUnion("step", [
  PrepareJobInput,
  TuneJobInput,
  TrainJobInput,
  EvaluateJobInput,
]);
export type JobInput = z.infer<typeof JobInput>;
