// The run's state document: the only place a run's progress, counters and decisions live.
import { z } from "zod";
import { RunId, Step, STEPS } from "./names.ts";
import { HyperParams } from "./hyperparams.ts";
import { MetricsSummary, SliceResult } from "./metrics.ts";
import { MitigationPlan } from "./mitigation.ts";
import { ModelLine } from "./model-line.ts";

export const StepStatus = z.enum(["pending", "running", "succeeded", "failed", "skipped"]);
export type StepStatus = z.infer<typeof StepStatus>;

export const StepState = z.object({
  status: StepStatus,
  /** Launches of this step so far; events from any other attempt are stale. 0 before the first launch. */
  attempt: z.number().int().min(0),
  /** Failed attempts in a row since the step last succeeded or was deliberately relaunched. */
  failuresInRow: z.number().int().min(0),
  jobName: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  lastError: z.string().nullable(),
});
export type StepState = z.infer<typeof StepState>;

export const TrailEntry = z.object({
  at: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  step: Step.nullable(),
  attempt: z.number().int().min(0),
  /** What the pipeline did, in a few words: "launched tune", "retune: weighted F1 0.52 < 0.60". */
  decision: z.string(),
});
export type TrailEntry = z.infer<typeof TrailEntry>;

/** An effect the function still has to carry out: kept in the state until done, so a crash cannot lose it. */
export const PendingEffect = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("launch"),
    key: z.string(),
    step: z.enum(["prepare", "tune", "train", "evaluate"]),
    attempt: z.number().int().positive(),
  }),
  z.object({ kind: z.literal("cancel"), key: z.string(), jobName: z.string() }),
  z.object({ kind: z.literal("publish"), key: z.string(), event: z.unknown() }),
  z.object({ kind: z.literal("register"), key: z.string(), attempt: z.number().int().positive() }),
]);
export type PendingEffect = z.infer<typeof PendingEffect>;

export const RunArtifacts = z.object({
  input: z.string(),
  prepared: z
    .object({
      dataDir: z.string(),
      statsUri: z.string(),
      rowsKept: z.number().int(),
      rowsRejected: z.number().int(),
      fingerprint: z.string(),
    })
    .nullable(),
  tuning: z
    .object({ outDir: z.string(), bestParams: HyperParams, bestValue: z.number(), trials: z.number().int() })
    .nullable(),
  training: z
    .object({
      modelDir: z.string(),
      params: HyperParams,
      validation: MetricsSummary,
      mitigation: MitigationPlan.nullable(),
    })
    .nullable(),
  evaluation: z
    .object({
      metricsUri: z.string(),
      slicesUri: z.string(),
      modelDir: z.string(),
      overall: MetricsSummary,
      biasedSlices: z.array(SliceResult),
      champion: z.object({ modelVersion: z.string(), weightedF1: z.number() }).nullable(),
      /** Slices large enough to be judged; absent in states written before it was kept. */
      judgedSlices: z.number().int().min(0).optional(),
      /** Configured slice columns none of whose slices could be judged: the bias check said nothing about them. */
      unjudgedColumns: z.array(z.string()).optional(),
    })
    .nullable(),
  registration: z.object({ modelResource: z.string(), version: z.string(), alias: z.string() }).nullable(),
});
export type RunArtifacts = z.infer<typeof RunArtifacts>;

export const RunState = z.object({
  schemaVersion: z.literal(1),
  runId: RunId,
  correlationId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  source: z.object({ bucket: z.string(), name: z.string(), generation: z.string() }),
  status: z.enum(["running", "completed"]),
  outcome: z.enum(["promoted", "below_threshold", "blocked_bias", "not_better", "failed"]).nullable(),
  /** The step whose event the run waits for, null when completed. */
  currentStep: Step.nullable(),
  steps: z.object(
    Object.fromEntries(STEPS.map((s) => [s, StepState])) as Record<(typeof STEPS)[number], typeof StepState>,
  ),
  budgets: z.object({
    retunesUsed: z.number().int().min(0),
    mitigationsUsed: z.number().int().min(0),
    manualRetriggersUsed: z.number().int().min(0),
  }),
  mitigation: MitigationPlan.nullable(),
  /** The model line of the model trained last (set when training completes): its champion is the one compared with. */
  modelLine: ModelLine.nullable().optional(),
  /**
   * The line the upload named in its `model-line` custom metadata: it outranks the config's `training.modelLine` and
   * the default line when training completes. Absent when the upload named none (and in states written before it).
   */
  uploadModelLine: ModelLine.optional(),
  /**
   * The parameters, seed and validation weighted F1 of the model a low-F1 retune started from: when the retune's search
   * finds the same parameters, or a best trial no better on validation, the run does not train again (unless
   * training.reseedOnRetune). Absent in states written before it; `validationWeightedF1` likewise.
   */
  retuneFrom: z
    .object({
      params: HyperParams,
      seed: z.number().int().min(0),
      validationWeightedF1: z.number().min(0).max(1).optional(),
    })
    .nullable()
    .optional(),
  /** The seed the train job uses when it is not training.seed (a reseeded retune). */
  trainSeed: z.number().int().min(0).nullable().optional(),
  artifacts: RunArtifacts,
  /** Ids of every event applied or deliberately ignored: a redelivery changes nothing. */
  seenEventIds: z.array(z.string()),
  trail: z.array(TrailEntry),
  outbox: z.array(PendingEffect),
});
export type RunState = z.infer<typeof RunState>;
