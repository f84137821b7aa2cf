// watch-jobs: Vertex AI job state entries (routed by a log sink) become job.failed events for the run's step attempt.
import { createHash } from "node:crypto";
import { z } from "zod";
import { parseJobName } from "../schemas/names.ts";
import { MalformedMessageError, formatIssues, makeEvent } from "../events/codec.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import { handleWithDeadLetters, type CloudEventHandler, type HandlerDeps } from "./handler.ts";
import type { EventBus } from "./ports/event-bus.ts";
import type { JobLauncher, JobState } from "./ports/job-launcher.ts";

export interface WatchJobsDeps extends HandlerDeps {
  bus: EventBus;
  launcher: JobLauncher;
}

/** The part of a Cloud Logging entry (as a sink writes it to Pub/Sub) that watch-jobs reads. */
const JobStateEntry = z.object({
  resource: z.object({ type: z.string(), labels: z.record(z.string(), z.string()).default({}) }),
  jsonPayload: z.record(z.string(), z.unknown()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  timestamp: z.string().optional(),
});

const FAILED_STATES = new Set<JobState>(["FAILED", "CANCELLED", "EXPIRED"]);

/** "JOB_STATE_FAILED" and "FAILED" both mean FAILED. */
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
    const parsed = JobStateEntry.safeParse(json);
    if (!parsed.success) throw new MalformedMessageError(`job state entry: ${formatIssues(parsed.error)}`);
    const entry = parsed.data;
    const payload = entry.jsonPayload ?? {};
    const jobId =
      entry.resource.labels.job_id ?? (typeof payload.jobId === "string" ? payload.jobId : undefined);
    if (!jobId) throw new MalformedMessageError("job state entry names no job (resource.labels.job_id)");

    // The entry may lack the state or the display name: the launcher knows both.
    const info = await deps.launcher.describe(jobId);
    const state = normaliseJobState(payload.state) ?? info?.state ?? null;
    const name =
      (typeof payload.jobDisplayName === "string" ? payload.jobDisplayName : null) ?? info?.jobName ?? null;
    const job = name ? parseJobName(name) : null;
    const log = deps.log.child({ component: "watch-jobs", jobId });
    if (!job) {
      log.info(`job ${jobId} (${name ?? "no name"}) is not a pipeline job; ignored`);
      return;
    }
    if (!state || !FAILED_STATES.has(state)) {
      log
        .child({ runId: job.runId, step: job.step, attempt: job.attempt })
        .debug(`job ${name} is ${state ?? "in an unknown state"}`);
      return;
    }
    const error =
      (typeof payload.error === "string" ? payload.error : null) ??
      info?.error ??
      `Vertex AI job ${name} ended in state ${state}`;
    const id = createHash("sha256").update(`${name}#${state}`).digest("hex").slice(0, 32);
    await deps.bus.publish(
      makeEvent(
        "job.failed",
        {
          id,
          runId: job.runId,
          attempt: job.attempt,
          time: entry.timestamp ?? deps.clock.now().toISOString(),
        },
        { step: job.step, jobName: name!, error: error.slice(0, 4000), retryable: true, state },
      ),
    );
    log
      .child({ runId: job.runId, step: job.step, attempt: job.attempt })
      .warn(`job ${name} ended ${state}: ${error.slice(0, 200)}`);
  });
}
