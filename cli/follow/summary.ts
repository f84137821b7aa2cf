// The end of following a run: its outcome and why, where its report is, and its experiment in MLflow.
import type { CliContext } from "../context.ts";
import { exitCodeForRun } from "../exit-codes.ts";
import { reportUri } from "../../report/report-location.ts";
import { createExperimentTracker } from "../../tracking/create-tracker.ts";
import { runExperimentName } from "../../schemas/mlflow-names.ts";
import { experimentUrl } from "../../tracking/local-mlflow-server.ts";
import { findPipelineRun, pipelineRunUrl } from "../../tracking/pipeline-run.ts";
import { formatElapsed } from "./render-view.ts";
import type { RunSummary } from "./printers.ts";
import type { RunView } from "./run-view.ts";

export async function summarize(ctx: CliContext, view: RunView): Promise<RunSummary> {
  const last = view.trail.at(-1) ?? null;
  let why =
    last && view.outcome && last.startsWith(`${view.outcome}: `) ? last.slice(view.outcome.length + 2) : last;
  // A promotion's reason is the decision to register; the last entry only names the version.
  const approval =
    view.outcome === "promoted" ? view.trail.findLast((t) => t.endsWith("; registering")) : undefined;
  if (approval) why = `${approval.slice(0, -"; registering".length)}; ${why}`;
  const report = reportUri(ctx.store.bucket, view.runId);
  const hasReport = await ctx.store.stat(report).catch(() => null);
  return {
    runId: view.runId,
    status: view.status,
    outcome: view.outcome,
    why,
    trail: view.trail,
    // Working time only: the hours between a run's end and its retrigger are shown apart, as idle.
    took:
      view.status !== "completed"
        ? null
        : view.durations
          ? formatElapsed(view.durations.workingMs)
          : view.createdAt && view.updatedAt
            ? formatElapsed(Date.parse(view.updatedAt) - Date.parse(view.createdAt))
            : null,
    idle:
      view.status === "completed" && view.durations && view.durations.idleMs > 0
        ? formatElapsed(view.durations.idleMs)
        : null,
    report: hasReport ? ctx.display(report) : null,
    mlflow: await mlflowLink(ctx, view.runId),
    exitCode: exitCodeForRun(view.status, view.outcome),
  };
}

/** The run's page in MLflow (its parent run in the line's experiment) when a tracking server is configured and
 * answers; the server's front page when it has no such run; null when no server is configured. */
export async function mlflowLink(ctx: CliContext, runId: string): Promise<string | null> {
  const tracker = createExperimentTracker(ctx.config);
  if (!tracker) return null;
  try {
    const state = (await ctx.ledger.get(runId))?.state;
    const experiment = await tracker.getExperimentByName(runExperimentName(ctx.config, state ?? {}));
    if (!experiment) return experimentUrl(tracker.uri, null);
    const parent = await findPipelineRun(tracker, experiment.experimentId, runId);
    return pipelineRunUrl(tracker.uri, experiment.experimentId, parent?.runId ?? null);
  } catch {
    return `${tracker.uri} (not answering)`;
  }
}
