// A pipeline run's parent run in its model line's experiment: found by its tags, or created; the trainer's jobs
// (gpu-jobs/trainer/sentiment_trainer/tracking.py) look for the same run and nest theirs under it.
import { z } from "zod";
import { runDir } from "../schemas/names.ts";
import type { ExperimentTracker, TrackedExperiment, TrackedRun } from "./experiment-tracker.ts";
import { PIPELINE_STEP } from "../schemas/mlflow-names.ts";

/** The parent run of a pipeline run; when two writers raced to create one, the oldest (then lowest id) is it. */
export async function findPipelineRun(
  tracker: ExperimentTracker,
  experimentId: string,
  runId: string,
): Promise<TrackedRun | null> {
  const found = await tracker.findRuns(experimentId, { run_id: runId, step: PIPELINE_STEP });
  return oldest(found);
}

/** Creations in flight in this process, per tracker: its callers for the same run share one. */
const creating = new WeakMap<ExperimentTracker, Map<string, Promise<TrackedRun>>>();

/**
 * Finds or creates the parent run. MLflow has no create-if-absent for runs: callers in this process (the tracking
 * observer handles a run's events concurrently) share one lookup-or-create; across processes (function instances, the
 * trainer's jobs), a writer whose run is not the oldest after it created it deletes its duplicate again.
 */
export function ensurePipelineRun(
  tracker: ExperimentTracker,
  experiment: TrackedExperiment,
  runId: string,
  startTime: number,
  tags: Record<string, string> = {},
): Promise<TrackedRun> {
  const inFlight = creating.get(tracker) ?? new Map<string, Promise<TrackedRun>>();
  creating.set(tracker, inFlight);
  const key = `${experiment.experimentId}/${runId}`;
  const pending = inFlight.get(key);
  if (pending) return pending;
  const created = findOrCreate(tracker, experiment, runId, startTime, tags).finally(() =>
    inFlight.delete(key),
  );
  inFlight.set(key, created);
  return created;
}

async function findOrCreate(
  tracker: ExperimentTracker,
  experiment: TrackedExperiment,
  runId: string,
  startTime: number,
  tags: Record<string, string>,
): Promise<TrackedRun> {
  const found = await findPipelineRun(tracker, experiment.experimentId, runId);
  if (found) return found;
  const created = await tracker.createRun(
    experiment.experimentId,
    runId,
    { ...tags, run_id: runId, step: PIPELINE_STEP },
    startTime,
  );
  const winner = await findPipelineRun(tracker, experiment.experimentId, runId);
  if (winner && winner.runId !== created.runId) {
    await tracker.deleteRun(created.runId);
    return winner;
  }
  return created;
}

function oldest(runs: TrackedRun[]): TrackedRun | null {
  const sorted = [...runs].sort((a, b) => a.startTime - b.startTime || a.runId.localeCompare(b.runId));
  return sorted[0] ?? null;
}

/** The MLflow UI page of a pipeline run (its parent run, with the nested runs below it), or of its experiment. */
export function pipelineRunUrl(uri: string, experimentId: string, parentRunId: string | null): string {
  return parentRunId
    ? `${uri}/#/experiments/${experimentId}/runs/${parentRunId}`
    : `${uri}/#/experiments/${experimentId}`;
}

/**
 * `runs/RUN_ID/mlflow.json`: where the run is in MLflow, written by the tracker for the report's link (the report is
 * rendered from the run folder and never calls MLflow). Only an http(s) address becomes a link.
 */
export const MlflowLocation = z.object({
  trackingUri: z.string().regex(/^https?:\/\/[^\s"'<>]+$/, "must be an http(s) address"),
  experimentName: z.string().min(1).max(500),
  experimentId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  parentRunId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
});
export type MlflowLocation = z.infer<typeof MlflowLocation>;

export function mlflowLocationUri(bucket: string, runId: string): string {
  return `${runDir(bucket, runId)}/mlflow.json`;
}
