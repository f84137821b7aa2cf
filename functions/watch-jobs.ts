// watch-jobs: Vertex AI job state entries (routed by a log sink) become job.failed events for the run's step attempt.
import { createHash } from "node:crypto";
import { parseJobName } from "../schemas/names.ts";
import { MalformedMessageError, formatIssues, makeEvent } from "../events/codec.ts";
import { JobStateLogEntry, jobStateOf, retryableJobEnd } from "../events/job-state.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import { handleWithDeadLetters, type CloudEventHandler, type HandlerDeps } from "./handler.ts";
import type { EventBus } from "../platform/ports/event-bus.ts";
import type { JobLauncher, JobState } from "../platform/ports/job-launcher.ts";

export interface WatchJobsDeps extends HandlerDeps {
  bus: EventBus;
  launcher: JobLauncher;
}

const FAILED_STATES = new Set<JobState>(["FAILED", "CANCELLED", "EXPIRED"]);
const ENDED_STATES = new Set<JobState>([...FAILED_STATES, "SUCCEEDED"]);

/** The job service still shows a job running that its log says has ended: Pub/Sub redelivers the entry later. */
export class JobStateLagError extends Error {
  override readonly name = "JobStateLagError";
}

/** The job.failed id of a job's end: watch-jobs and reconcile-runs derive the same, so the run applies one. */
export function jobEndEventId(jobName: string, state: JobState): string {
  return createHash("sha256").update(`${jobName}#${state}`).digest("hex").slice(0, 32);
}

/** "JOB_STATE_FAILED" and "FAILED" both mean FAILED; states the port does not know are null. */
export function normaliseJobState(raw: unknown): JobState | null {
  if (typeof raw !== "string") return null;
  const s = raw.replace(/^JOB_STATE_/, "");
  const known: JobState[] = [
    "QUEUED",
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "CANCELLING",
    "CANCELLED",
    "EXPIRED",
  ];
  return (known as string[]).includes(s) ? (s as JobState) : null;
}

export function makeWatchJobs(deps: WatchJobsDeps): CloudEventHandler {
  return handleWithDeadLetters("watch-jobs", deps, async (cloudEvent) => {
    const message = unwrapPubSub(cloudEvent);
    let json: unknown;
    try {
      json = JSON.parse(message.data.toString("utf8"));
    } catch {
      throw new MalformedMessageError("job state entry is not JSON");
    }
    const parsed = JobStateLogEntry.safeParse(json);
    if (!parsed.success) throw new MalformedMessageError(`job state entry: ${formatIssues(parsed.error)}`);
    const entry = parsed.data;
    const hint = jobStateOf(entry);

    // Vertex writes text only; the entry's fields are hints, the job service has the truth.
    const info = await deps.launcher.describe(hint.jobId);
    const said = normaliseJobState(hint.state);
    const state = info?.state ?? said;
    const name = info?.jobName ?? hint.displayName;
    const job = name ? parseJobName(name) : null;
    const log = deps.log.child({ component: "watch-jobs", jobId: hint.jobId });
    if (!job || !name) {
      log.info(`job ${hint.jobId} (${name ?? "no name"}) is not a pipeline job; ignored`);
      return;
    }
    const labels = { runId: job.runId, step: job.step, attempt: job.attempt };
    if (said && ENDED_STATES.has(said) && info && !ENDED_STATES.has(info.state)) {
      // "Job failed." can be logged before GetCustomJob shows it: answer 500 so Pub/Sub brings the entry back.
      throw new JobStateLagError(
        `the log says job ${name} ended (${said}) but the job service still shows ${info.state}`,
      );
    }
    if (!state || !FAILED_STATES.has(state)) {
      log.child(labels).debug(`job ${name} is ${state ?? "in an unknown state"}`);
      return;
    }
    const error = info?.error ?? entry.jsonPayload?.error ?? `Vertex AI job ${name} ended in state ${state}`;
    const retryable = retryableJobEnd(state, error);
    await deps.bus.publish(
      makeEvent(
        "job.failed",
        { id: jobEndEventId(name, state), runId: job.runId, attempt: job.attempt, time: entry.timestamp },
        { step: job.step, jobName: name, error: error.slice(0, 4000), retryable, state },
      ),
    );
    log
      .child(labels)
      .warn(
        `job ${name} ended ${state}${retryable ? "" : " after Vertex's own restarts"}: ${error.slice(0, 200)}`,
      );
  });
}
