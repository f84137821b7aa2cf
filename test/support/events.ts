// Builders of well-formed pipeline events for tests: each takes only what a test varies.
import { makeEvent } from "../../events/codec.ts";
import type { EventOf, EventType } from "../../events/catalogue.ts";
import type { HyperParams } from "../../schemas/hyperparams.ts";
import type { SliceResult } from "../../schemas/metrics.ts";
import type { MitigationPlan } from "../../schemas/mitigation.ts";
import type { JobStep } from "../../schemas/names.ts";

export const RUN = "reviews-0123456789";
const T0 = Date.parse("2026-01-01T00:00:00Z");
let clock = 0;
/** Strictly increasing event times, so trails have an order. */
export function nextTime(): string {
  return new Date(T0 + ++clock * 1000).toISOString();
}

export const PARAMS: HyperParams = {
  modelFamily: "bert",
  learningRate: 3e-5,
  batchSize: 32,
  epochs: 3,
  weightDecay: 0.01,
  dropout: 0.1,
};

export function runStarted(runId = RUN): EventOf<"run.started"> {
  return makeEvent(
    "run.started",
    { id: `started-${runId}`, runId, attempt: 1, time: nextTime() },
    {
      source: { bucket: "local-bucket", name: "uploads/reviews.jsonl", generation: "1" },
      input: "gs://local-bucket/uploads/reviews.jsonl",
    },
  );
}

export function dataPrepared(attempt = 1, runId = RUN, id?: string): EventOf<"data.prepared"> {
  const dir = `gs://local-bucket/runs/${runId}/prepare/a${attempt}`;
  return makeEvent(
    "data.prepared",
    { runId, attempt, time: nextTime(), ...(id ? { id } : {}) },
    {
      dataDir: dir,
      splits: {
        train: { uri: `${dir}/train.jsonl`, rows: 80 },
        validation: { uri: `${dir}/validation.jsonl`, rows: 10 },
        test: { uri: `${dir}/test.jsonl`, rows: 10 },
      },
      statsUri: `${dir}/stats.json`,
      rejectedUri: `${dir}/rejected.jsonl`,
      rowsRead: 101,
      rowsKept: 100,
      rowsRejected: 1,
      fingerprint: "abc",
    },
  );
}

export function tuningCompleted(
  attempt = 1,
  runId = RUN,
  id?: string,
  bestParams: HyperParams = PARAMS,
  bestValue = 0.8,
): EventOf<"tuning.completed"> {
  const dir = `gs://local-bucket/runs/${runId}/tune/a${attempt}`;
  return makeEvent(
    "tuning.completed",
    { runId, attempt, time: nextTime(), ...(id ? { id } : {}) },
    {
      outDir: dir,
      studyUri: `${dir}/study.db`,
      trials: 8,
      completedTrials: 6,
      prunedTrials: 2,
      bestParams,
      bestValue,
    },
  );
}

export function trainingCompleted(
  attempt = 1,
  mitigation: MitigationPlan | null = null,
  runId = RUN,
  id?: string,
): EventOf<"training.completed"> {
  return makeEvent(
    "training.completed",
    { runId, attempt, time: nextTime(), ...(id ? { id } : {}) },
    {
      modelDir: `gs://local-bucket/runs/${runId}/train/a${attempt}/model`,
      params: PARAMS,
      validation: { accuracy: 0.9, weightedF1: 0.88, macroF1: 0.7 },
      epochsRun: 3,
      mitigation,
    },
  );
}

export function slice(
  column: string,
  value: string,
  f1: number,
  share: number,
  ratioInterval: [number, number] | null = null,
  overall = 0.8,
): SliceResult {
  return {
    column,
    value,
    support: Math.round(share * 1000),
    share,
    f1,
    ratio: overall > 0 ? f1 / overall : 0,
    f1Interval: null,
    ratioInterval: ratioInterval ? { low: ratioInterval[0], high: ratioInterval[1] } : null,
  };
}

export interface EvaluationOptions {
  weightedF1?: number;
  slices?: SliceResult[];
  champion?: { version: string; weightedF1: number } | null;
  id?: string;
  runId?: string;
  /** The train attempt whose model was evaluated; the evaluation's own attempt unless given. */
  trainAttempt?: number;
}

export function evaluationCompleted(attempt = 1, o: EvaluationOptions = {}): EventOf<"evaluation.completed"> {
  const runId = o.runId ?? RUN;
  const f1 = o.weightedF1 ?? 0.8;
  const dir = `gs://local-bucket/runs/${runId}/evaluate/a${attempt}`;
  return makeEvent(
    "evaluation.completed",
    { runId, attempt, time: nextTime(), ...(o.id ? { id: o.id } : {}) },
    {
      modelDir: `gs://local-bucket/runs/${runId}/train/a${o.trainAttempt ?? attempt}/model`,
      metricsUri: `${dir}/metrics.json`,
      slicesUri: `${dir}/slices.json`,
      testRows: 1000,
      overall: { accuracy: f1, weightedF1: f1, macroF1: f1 - 0.1 },
      slices: o.slices ?? [
        slice("year", "2021", f1, 0.5, null, f1),
        slice("main_category", "Books", f1, 0.3, null, f1),
      ],
      champion: o.champion
        ? {
            modelVersion: o.champion.version,
            modelUri: "gs://local-bucket/runs/old/train/a1/model",
            overall: { accuracy: o.champion.weightedF1, weightedF1: o.champion.weightedF1, macroF1: 0.5 },
          }
        : null,
    },
  );
}

export function modelRegistered(attempt = 1, runId = RUN): EventOf<"model.registered"> {
  return makeEvent(
    "model.registered",
    { runId, attempt, time: nextTime() },
    {
      modelResource: "local/models/sentiment-classifier",
      version: "1",
      alias: "champion",
      artifactUri: `gs://local-bucket/runs/${runId}/train/a1/model`,
    },
  );
}

export function jobFailed(
  step: JobStep,
  attempt: number,
  retryable = true,
  runId = RUN,
): EventOf<"job.failed"> {
  return makeEvent(
    "job.failed",
    { runId, attempt, time: nextTime() },
    {
      step,
      jobName: `sp-${runId}-${step}-a${attempt}`,
      error: "exit code 1",
      retryable,
    },
  );
}

export function retriggerRequested(
  fromStep: EventOf<"retrigger.requested">["data"]["fromStep"],
  reason = "new data",
  runId = RUN,
): EventOf<"retrigger.requested"> {
  return makeEvent(
    "retrigger.requested",
    { runId, attempt: 1, time: nextTime() },
    { fromStep, reason, requestedBy: "ana@example.com" },
  );
}

/** The same event with its artifact URIs in another bucket (they are built in local-bucket). */
export function inBucket<E extends EventOf<EventType>>(event: E, bucket: string): E {
  return JSON.parse(JSON.stringify(event).replaceAll("gs://local-bucket/", `gs://${bucket}/`)) as E;
}
