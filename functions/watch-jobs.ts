// watch-jobs: Vertex AI job state entries (routed by a log sink) become job.failed events for the run's step attempt.
import { createHash } from "node:crypto";
import { parseJobName } from "../schemas/names.ts";
import { MalformedMessageError, formatIssues, makeEvent } from "../events/codec.ts";
import { JobStateLogEntry, jobStateOf } from "../events/job-state.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import { handleWithDeadLetters, type CloudEventHandler, type HandlerDeps } from "./handler.ts";
import type { EventBus } from "./ports/event-bus.ts";
import type { JobLauncher, JobState } from "./ports/job-launcher.ts";

export interface WatchJobsDeps extends HandlerDeps {
  bus: EventBus;
  launcher: JobLauncher;
}

const FAILED_STATES = new Set<JobState>(["FAILED", "CANCELLED", "EXPIRED"]);

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
    const state = info?.state ?? normaliseJobState(hint.state);
    const name = info?.jobName ?? hint.displayName;
    const job = name ? parseJobName(name) : null;
    const log = deps.log.child({ component: "watch-jobs", jobId: hint.jobId });
    if (!job || !name) {
      log.info(`job ${hint.jobId} (${name ?? "no name"}) is not a pipeline job; ignored`);
      return;
    }
    const labels = { runId: job.runId, step: job.step, attempt: job.attempt };
    if (!state || !FAILED_STATES.has(state)) {
      log.child(labels).debug(`job ${name} is ${state ?? "in an unknown state"}`);
      return;
    }
    const error = info?.error ?? entry.jsonPayload?.error ?? `Vertex AI job ${name} ended in state ${state}`;
    const id = createHash("sha256").update(`${name}#${state}`).digest("hex").slice(0, 32);
    await deps.bus.publish(
      makeEvent(
        "job.failed",
        { id, runId: job.runId, attempt: job.attempt, time: entry.timestamp },
        { step: job.step, jobName: name, error: error.slice(0, 4000), retryable: true, state },
      ),
    );
    log.child(labels).warn(`job ${name} ended ${state}: ${error.slice(0, 200)}`);
  });
}
