// Every event of the chain, as zod schemas; types share the schemas' names.
import { z } from "zod";
import { eventSchema } from "./envelope.ts";
import { HyperParams } from "../schemas/hyperparams.ts";
import { MetricsSummary, SliceResult } from "../schemas/metrics.ts";
import { MitigationPlan } from "../schemas/mitigation.ts";
import { ModelLine } from "../schemas/model-line.ts";
import { gcsUri, JobStep, ObjectName, Step } from "../schemas/names.ts";
import { checkArtifact, modelOfAnyRunProblem } from "./artifact-uris.ts";

/** A model name as events carry it: a Hugging Face id, a local alias (tiny, minilm) or a path. */
const BaseModelName = z.string().min(1).max(500);

export const SplitRef = z.object({ uri: z.string().min(1), rows: z.number().int().min(0) });

export const RunStarted = eventSchema(
  "run.started",
  z.object({
    source: z.object({ bucket: z.string(), name: z.string(), generation: z.string() }),
    input: z.string().min(1),
    /** The model line the upload named (its `model-line` custom metadata); absent when it named none. */
    modelLine: ModelLine.optional(),
  }),
).superRefine((e, ctx) => {
  // The input is the uploaded object itself, never a path or another object.
  if (
    !ObjectName.safeParse(e.data.source.name).success ||
    e.data.input !== gcsUri(e.data.source.bucket, e.data.source.name)
  )
    ctx.addIssue({
      code: "custom",
      path: ["data", "input"],
      message: "data.input must be gs://SOURCE_BUCKET/SOURCE_NAME of data.source",
    });
});
export type RunStarted = z.infer<typeof RunStarted>;

export const DataPrepared = eventSchema(
  "data.prepared",
  z.object({
    dataDir: z.string().min(1),
    splits: z.object({ train: SplitRef, validation: SplitRef, test: SplitRef }),
    statsUri: z.string().min(1),
    rejectedUri: z.string().min(1),
    rowsRead: z.number().int().min(0),
    rowsKept: z.number().int().min(0),
    rowsRejected: z.number().int().min(0),
    fingerprint: z.string().min(1),
  }),
).superRefine((e, ctx) => {
  const at = { runId: e.runId, step: "prepare", attempt: e.attempt } as const;
  checkArtifact(ctx, ["data", "dataDir"], e.data.dataDir, { ...at, folder: true });
  for (const split of ["train", "validation", "test"] as const)
    checkArtifact(ctx, ["data", "splits", split, "uri"], e.data.splits[split].uri, at);
  checkArtifact(ctx, ["data", "statsUri"], e.data.statsUri, at);
  checkArtifact(ctx, ["data", "rejectedUri"], e.data.rejectedUri, at);
});
export type DataPrepared = z.infer<typeof DataPrepared>;

export const TuningCompleted = eventSchema(
  "tuning.completed",
  z.object({
    outDir: z.string().min(1),
    studyUri: z.string().min(1),
    trials: z.number().int().min(0),
    completedTrials: z.number().int().min(0),
    prunedTrials: z.number().int().min(0),
    bestParams: HyperParams,
    /** Best weighted F1 on the validation split. */
    bestValue: z.number().min(0).max(1),
    /** The model the best trial fine-tuned (the config's model for its family); absent from older tune jobs. */
    baseModel: BaseModelName.optional(),
  }),
).superRefine((e, ctx) => {
  const at = { runId: e.runId, step: "tune", attempt: e.attempt } as const;
  checkArtifact(ctx, ["data", "outDir"], e.data.outDir, { ...at, folder: true });
  checkArtifact(ctx, ["data", "studyUri"], e.data.studyUri, at);
});
export type TuningCompleted = z.infer<typeof TuningCompleted>;

export const TrainingCompleted = eventSchema(
  "training.completed",
  z.object({
    modelDir: z.string().min(1),
    params: HyperParams,
    /** The model fine-tuned (the config's model for params.modelFamily); absent from older trainers. */
    baseModel: BaseModelName.optional(),
    validation: MetricsSummary,
    epochsRun: z.number().int().min(0),
    mitigation: MitigationPlan.nullable(),
    /** Which export is served and why (int8 judged by validation F1 against fp32); absent from older trainers. */
    quantization: z.object({ served: z.enum(["int8", "fp32"]), reason: z.string().nullable() }).optional(),
  }),
).superRefine((e, ctx) => {
  checkArtifact(ctx, ["data", "modelDir"], e.data.modelDir, {
    runId: e.runId,
    step: "train",
    attempt: e.attempt,
  });
});
export type TrainingCompleted = z.infer<typeof TrainingCompleted>;

export const ChampionSummary = z.object({
  modelVersion: z.string().min(1),
  modelUri: z
    .string()
    .min(1)
    .superRefine((uri, ctx) => {
      const problem = modelOfAnyRunProblem(uri);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  overall: MetricsSummary,
});
export type ChampionSummary = z.infer<typeof ChampionSummary>;

export const EvaluationCompleted = eventSchema(
  "evaluation.completed",
  z.object({
    modelDir: z.string().min(1),
    metricsUri: z.string().min(1),
    slicesUri: z.string().min(1),
    testRows: z.number().int().min(0),
    overall: MetricsSummary,
    /** Every slice value of every configured column (the overall row is never here). */
    slices: z.array(SliceResult),
    /** The registered champion evaluated on the same test split, or null when there is none. */
    champion: ChampionSummary.nullable(),
    /** The model line whose champion was asked for (absent in events written before lines). */
    modelLine: ModelLine.optional(),
  }),
).superRefine((e, ctx) => {
  const at = { runId: e.runId, step: "evaluate", attempt: e.attempt } as const;
  // The model under test is one of this run's train attempts; the decision core checks it is the current one.
  checkArtifact(ctx, ["data", "modelDir"], e.data.modelDir, { runId: e.runId, step: "train", attempt: null });
  checkArtifact(ctx, ["data", "metricsUri"], e.data.metricsUri, at);
  checkArtifact(ctx, ["data", "slicesUri"], e.data.slicesUri, at);
});
export type EvaluationCompleted = z.infer<typeof EvaluationCompleted>;

export const RETRIGGER_REASONS = ["low_f1", "bias", "manual"] as const;
export const RetriggerReason = z.enum(RETRIGGER_REASONS);
export type RetriggerReason = z.infer<typeof RetriggerReason>;

export const RunRetriggered = eventSchema(
  "run.retriggered",
  z.object({
    from: Step,
    reason: RetriggerReason,
    detail: z.string(),
    mitigation: MitigationPlan.nullable(),
  }),
);
export type RunRetriggered = z.infer<typeof RunRetriggered>;

export const ModelRegistered = eventSchema(
  "model.registered",
  z.object({
    modelResource: z.string().min(1),
    version: z.string().min(1),
    alias: z.string().min(1),
    artifactUri: z.string().min(1),
    /** The model line the version belongs to (absent in events written before lines). */
    modelLine: ModelLine.optional(),
    /** True when the line already held this run's model: no new version was made, the alias moved (or stayed). */
    alreadyRegistered: z.boolean().optional(),
    /**
     * The line's champion version before this registration, when it had one (absent in older events): an earlier
     * version registered again takes the champion alias from it.
     */
    previousChampion: z.string().min(1).nullable().optional(),
  }),
).superRefine((e, ctx) => {
  checkArtifact(ctx, ["data", "artifactUri"], e.data.artifactUri, {
    runId: e.runId,
    step: "train",
    attempt: null,
  });
});
export type ModelRegistered = z.infer<typeof ModelRegistered>;

export const OUTCOMES = ["promoted", "below_threshold", "blocked_bias", "not_better", "failed"] as const;
export const Outcome = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof Outcome>;

export const RunCompleted = eventSchema(
  "run.completed",
  z.object({
    outcome: Outcome,
    /** The decision trail that led here, oldest first. */
    reasons: z.array(z.string()).min(1),
  }),
);
export type RunCompleted = z.infer<typeof RunCompleted>;

export const RetriggerRequested = eventSchema(
  "retrigger.requested",
  z.object({
    fromStep: Step,
    reason: z.string().min(1).max(1000),
    requestedBy: z.string().max(200).optional(),
  }),
);
export type RetriggerRequested = z.infer<typeof RetriggerRequested>;

export const JobFailed = eventSchema(
  "job.failed",
  z.object({
    step: JobStep,
    jobName: z.string().min(1),
    error: z.string().max(4000),
    /** False when retrying cannot help (unusable input, invalid arguments): the run fails at once. */
    retryable: z.boolean(),
    exitCode: z.number().int().nullable().optional(),
    /** Vertex job state when the failure came from the job-state sink. */
    state: z.string().optional(),
  }),
);
export type JobFailed = z.infer<typeof JobFailed>;

export const JobProgress = eventSchema(
  "job.progress",
  z.object({
    step: JobStep,
    unit: z.enum(["trial", "epoch", "batch", "rows"]),
    current: z.number().int().min(0),
    total: z.number().int().min(0).nullable(),
    message: z.string().max(500).optional(),
    metrics: z.record(z.string(), z.number()).optional(),
    /** Estimated seconds until the job's work is done (tuning or training), from the speed measured so far. */
    etaSeconds: z.number().min(0).optional(),
  }),
);
export type JobProgress = z.infer<typeof JobProgress>;

export const PipelineEvent = z.discriminatedUnion("type", [
  RunStarted,
  DataPrepared,
  TuningCompleted,
  TrainingCompleted,
  EvaluationCompleted,
  RunRetriggered,
  ModelRegistered,
  RunCompleted,
  RetriggerRequested,
  JobFailed,
  JobProgress,
]);
export type PipelineEvent = z.infer<typeof PipelineEvent>;
export type EventType = PipelineEvent["type"];
export type EventOf<T extends EventType> = Extract<PipelineEvent, { type: T }>;
export type EventData<T extends EventType> = EventOf<T>["data"];

export const EVENT_SCHEMAS = {
  "run.started": RunStarted,
  "data.prepared": DataPrepared,
  "tuning.completed": TuningCompleted,
  "training.completed": TrainingCompleted,
  "evaluation.completed": EvaluationCompleted,
  "run.retriggered": RunRetriggered,
  "model.registered": ModelRegistered,
  "run.completed": RunCompleted,
  "retrigger.requested": RetriggerRequested,
  "job.failed": JobFailed,
  "job.progress": JobProgress,
} as const satisfies { [T in EventType]: z.ZodType<EventOf<T>> };

export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];
