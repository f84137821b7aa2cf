// Registers the event-driven functions with functions-framework over the dependencies the caller wires.
import * as ff from "@google-cloud/functions-framework";
import type { CloudEvent } from "@google-cloud/functions-framework";
import { makeAdvanceRun } from "./advance-run.ts";
import { makeRetriggerRun } from "./retrigger-run.ts";
import { makeStartRun } from "./start-run.ts";
import { makeWatchJobs } from "./watch-jobs.ts";
import { makeLogRunEvents } from "./log-run-events.ts";
import { makeTrackRun } from "./track-run.ts";
import { makeReportRun } from "./report-run.ts";
import { makeReconcileRuns } from "./reconcile-runs.ts";
import type { ExperimentTracker } from "../tracking/experiment-tracker.ts";
import { createExperimentTracker } from "../tracking/create-tracker.ts";
import type { HandlerDeps } from "./handler.ts";
import type { RunProcessorDeps } from "./run-processor.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import { PREDICT_ENTRY_POINT, registerPredict } from "../serving/http-function.ts";

export { PREDICT_ENTRY_POINT };

export type FunctionDeps = HandlerDeps &
  RunProcessorDeps & {
    store: ObjectStore;
    /** MLflow for track-run; by default from the config's tracking URI (none when unset). */
    tracker?: ExperimentTracker | null;
  };

/** Entry point names, as deployed (`--entry-point`) and as the emulator stack's function hosts use them. */
export const ENTRY_POINTS = {
  "start-run": "startRun",
  "advance-run": "advanceRun",
  "retrigger-run": "retriggerRun",
  "watch-jobs": "watchJobs",
  "reconcile-runs": "reconcileRuns",
  "log-run-events": "logRunEvents",
  "track-run": "trackRun",
  "report-run": "reportRun",
} as const;

export function registerFunctions(deps: FunctionDeps, prefix = ""): void {
  const wrap = (h: (e: CloudEvent<unknown>) => Promise<void>) => (e: CloudEvent<unknown>) => h(e);
  ff.cloudEvent(`${prefix}${ENTRY_POINTS["start-run"]}`, wrap(makeStartRun(deps)));
  ff.cloudEvent(`${prefix}${ENTRY_POINTS["advance-run"]}`, wrap(makeAdvanceRun(deps)));
  ff.cloudEvent(`${prefix}${ENTRY_POINTS["retrigger-run"]}`, wrap(makeRetriggerRun(deps)));
  ff.cloudEvent(`${prefix}${ENTRY_POINTS["watch-jobs"]}`, wrap(makeWatchJobs(deps)));
  ff.cloudEvent(`${prefix}${ENTRY_POINTS["reconcile-runs"]}`, wrap(makeReconcileRuns(deps)));
  ff.cloudEvent(`${prefix}${ENTRY_POINTS["log-run-events"]}`, wrap(makeLogRunEvents(deps)));
  const tracker = deps.tracker !== undefined ? deps.tracker : createExperimentTracker(deps.config);
  ff.cloudEvent(`${prefix}${ENTRY_POINTS["track-run"]}`, wrap(makeTrackRun({ ...deps, tracker })));
  ff.cloudEvent(`${prefix}${ENTRY_POINTS["report-run"]}`, wrap(makeReportRun(deps)));
  // The HTTP prediction endpoint; its model loads only in the instance that serves it (or on its first request).
  registerPredict(deps, prefix);
}
