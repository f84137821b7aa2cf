// reconcile-runs: on Cloud Scheduler's tick, finds every running run whose job has ended or overrun, and tells the run.
import { createHash } from "node:crypto";
import type { PipelineConfig } from "../schemas/config.ts";
import type { RunState } from "../schemas/run-state.ts";
import { JOB_STEPS, type JobStep } from "../schemas/names.ts";
import { z } from "zod";
import { MalformedMessageError, formatIssues, makeEvent } from "../events/codec.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import { retryableJobEnd } from "../events/job-state.ts";
import { handleWithDeadLetters, type CloudEventHandler, type HandlerDeps } from "./handler.ts";
import type { EventBus } from "../platform/ports/event-bus.ts";
import type { JobLauncher, JobState } from "../platform/ports/job-launcher.ts";
import type { RunLedger } from "../platform/ports/run-ledger.ts";
import { jobEndEventId } from "./watch-jobs.ts";

/**
 * watch-jobs hears of a job's end through a log sink, which can lose or delay an entry, and a job can finish without
 * its completion event ever arriving (a crash between the two, a publish that failed). Nothing would then move the
 * run: it would stay `running` for ever. This function asks Vertex for the state of each running run's current job
 * and publishes what the run is missing. Every event id derives from the job and what happened to it, so a tick that
 * repeats one (or watch-jobs's own event for the same end) changes the run once.
 */
export interface ReconcileDeps extends HandlerDeps {
  config: PipelineConfig;
  ledger: RunLedger;
  launcher: JobLauncher;
  bus: EventBus;
}

export interface ReconcileAction {
  runId: string;
  jobName: string;
  /** What was done: the job ended and the run is told, the job is past its deadline, or it never existed. */
  action: "ended" | "deadline" | "missing";
  state: JobState | null;
}

const ENDED: ReadonlySet<JobState> = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"]);

/** Looks at every running run once; the actions taken, for logs and tests. */
export async function reconcileRuns(deps: ReconcileDeps): Promise<ReconcileAction[]> {
  const actions: ReconcileAction[] = [];
  const ids = await deps.ledger.list(deps.config.reconcile.maxRuns);
  for (const runId of ids) {
    try {
      const doc = await deps.ledger.get(runId);
      const action = doc ? await reconcileRun(deps, doc.state) : null;
      if (action) actions.push(action);
    } catch (err) {
      // One run's trouble must not keep the others unreconciled; the next tick tries it again.
      deps.log.error(`reconcile-runs: run ${runId}: ${(err as Error).message}`, { runId });
    }
  }
  return actions;
}

async function reconcileRun(deps: ReconcileDeps, state: RunState): Promise<ReconcileAction | null> {
  const step = state.currentStep;
  if (state.status !== "running" || !step || !(JOB_STEPS as readonly string[]).includes(step)) return null;
  const jobStep = step as JobStep;
  const s = state.steps[jobStep];
  if (s.status !== "running" || !s.jobName) return null;
  // advance-run has not launched it yet (its outbox holds the launch): its own redelivery will.
  if (state.outbox.some((e) => e.kind === "launch" && e.step === jobStep && e.attempt === s.attempt))
    return null;

  const { reconcile } = deps.config;
  const now = deps.clock.now().getTime();
  const launched = Date.parse(s.startedAt ?? state.updatedAt);
  const name = s.jobName;
  const log = deps.log.child({
    runId: state.runId,
    step: jobStep,
    attempt: s.attempt,
    component: "reconcile-runs",
  });
  const info = await deps.launcher.describe(name);
  const fail = async (id: string, error: string, retryable: boolean, jobState?: string): Promise<void> => {
    await deps.bus.publish(
      makeEvent(
        "job.failed",
        {
          id,
          runId: state.runId,
          attempt: s.attempt,
          correlationId: state.correlationId,
          time: new Date(now).toISOString(),
        },
        {
          step: jobStep,
          jobName: name,
          error: error.slice(0, 4000),
          retryable,
          ...(jobState ? { state: jobState } : {}),
        },
      ),
    );
  };

  if (!info) {
    if (now - launched < reconcile.endedGraceSeconds * 1000) return null;
    const minutes = Math.round((now - launched) / 60_000);
    await fail(
      hashId(`${name}#missing`),
      `no Vertex AI job named ${name} exists ${minutes} min after the run launched it`,
      true,
    );
    log.warn(`${name} does not exist ${minutes} min after its launch: reported as failed`);
    return { runId: state.runId, jobName: name, action: "missing", state: null };
  }

  if (ENDED.has(info.state)) {
    const ended = info.endTime ? Date.parse(info.endTime) : launched;
    if (now - ended < reconcile.endedGraceSeconds * 1000) return null;
    if (info.state === "SUCCEEDED") {
      // The job said it succeeded, yet its completion event never moved the run: the attempt's outputs are unknown.
      await fail(
        jobEndEventId(name, "SUCCEEDED"),
        `Vertex AI job ${name} succeeded but its completion event never reached the run`,
        true,
        "SUCCEEDED",
      );
    } else {
      const error = info.error ?? `Vertex AI job ${name} ended in state ${info.state}`;
      await fail(jobEndEventId(name, info.state), error, retryableJobEnd(info.state, error), info.state);
    }
    log.warn(`${name} ended ${info.state} and the run did not know: reported as failed`);
    return { runId: state.runId, jobName: name, action: "ended", state: info.state };
  }

  const deadline = reconcile.stepDeadlineSeconds[jobStep];
  if (now - launched <= deadline * 1000) return null;
  // The same id as watch-jobs's event for the CANCELLED entry this cancel causes: the run counts one failure.
  await fail(
    jobEndEventId(name, "CANCELLED"),
    `${jobStep} attempt ${s.attempt} passed its deadline of ${deadline} s (reconcile.stepDeadlineSeconds.${jobStep}) while ${info.state}; cancelled`,
    true,
    "CANCELLED",
  );
  await deps.launcher.cancel(name);
  log.warn(`${name} passed its deadline of ${deadline} s while ${info.state}: cancelled`);
  return { runId: state.runId, jobName: name, action: "deadline", state: info.state };
}

function hashId(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/**
 * The tick Cloud Scheduler publishes (deploy sets its body to `{}`); `requestedBy` names a person or tool that asked
 * for a pass by hand. Anything else on the topic is not a tick: it is kept as a dead letter, not acted on.
 */
export const ReconcileTick = z.strictObject({ requestedBy: z.string().max(200).optional() });

export function makeReconcileRuns(deps: ReconcileDeps): CloudEventHandler {
  return handleWithDeadLetters("reconcile-runs", deps, async (cloudEvent) => {
    const text = unwrapPubSub(cloudEvent).data.toString("utf8");
    let json: unknown;
    try {
      json = JSON.parse(text === "" ? "{}" : text);
    } catch {
      throw new MalformedMessageError("reconcile tick is not JSON");
    }
    const tick = ReconcileTick.safeParse(json);
    if (!tick.success) throw new MalformedMessageError(`reconcile tick: ${formatIssues(tick.error)}`);
    const actions = await reconcileRuns(deps);
    deps.log.info(`reconcile-runs: ${actions.length} run(s) told of their job`, {
      component: "reconcile-runs",
      actions: actions.length,
    });
  });
}
