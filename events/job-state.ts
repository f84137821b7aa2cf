// Vertex AI job state entries as a Cloud Logging sink writes them to the job-states topic; watch-jobs decodes these.
import { z } from "zod";

/**
 * Vertex AI writes a custom job's service messages ("Job is running.", "Job failed.", ...) on the monitored resource
 * `ml_job` with the labels `job_id`, `project_id` and `task_name` = "service" (replicas log with task_name
 * "workerpool0-0" and so on). The filter is gcloud's own for a job's logs (`command_lib/ai/log_util.py`:
 * `resource.type="ml_job"` and the `job_id` label) for every job, narrowed to the service's entries so that replica
 * output (every training log line) does not invoke watch-jobs. No logName clause: the log's name is not part of
 * Google's filter and is not documented. A job whose entries never arrive is still found by reconcile-runs.
 */
export const JOB_STATE_SINK_FILTER =
  'resource.type="ml_job" AND resource.labels.job_id:* AND resource.labels.task_name="service"';

/** The entry label real Vertex sets beside its message, e.g. "SUCCEEDED" (seen in its structured service logs). */
export const JOB_STATE_LABEL = "ml.googleapis.com/job_state";

/** Vertex's own names for job states (google.cloud.aiplatform.v1.JobState). */
export const VERTEX_JOB_STATES = [
  "JOB_STATE_UNSPECIFIED",
  "JOB_STATE_QUEUED",
  "JOB_STATE_PENDING",
  "JOB_STATE_RUNNING",
  "JOB_STATE_SUCCEEDED",
  "JOB_STATE_FAILED",
  "JOB_STATE_CANCELLING",
  "JOB_STATE_CANCELLED",
  "JOB_STATE_PAUSED",
  "JOB_STATE_EXPIRED",
  "JOB_STATE_UPDATING",
  "JOB_STATE_PARTIALLY_SUCCEEDED",
] as const;
export const VertexJobState = z.enum(VERTEX_JOB_STATES);
export type VertexJobState = z.infer<typeof VertexJobState>;

export const LOG_SEVERITIES = [
  "DEFAULT",
  "DEBUG",
  "INFO",
  "NOTICE",
  "WARNING",
  "ERROR",
  "CRITICAL",
  "ALERT",
  "EMERGENCY",
] as const;

/**
 * The structured payload the local Vertex stand-in writes. Vertex itself writes a `textPayload` with the message
 * only, so consumers must treat every field here as a hint and ask the job service (JobLauncher.describe) for the
 * truth; the stand-in adds them so a reader of the topic can follow a run without a second call.
 */
export const JobStatePayload = z
  .object({
    message: z.string(),
    state: VertexJobState.optional(),
    /** The CustomJob's display name: the pipeline's job name (sp-RUN-STEP-aN). */
    jobDisplayName: z.string().optional(),
    /** projects/P/locations/R/customJobs/ID */
    jobResource: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    /** The job's error message once it failed. */
    error: z.string().optional(),
    /** google.rpc.Code of the error. */
    errorCode: z.number().int().optional(),
    /** How often the stand-in restarted the replica after a preemption. */
    restarts: z.number().int().min(0).optional(),
  })
  .loose();
export type JobStatePayload = z.infer<typeof JobStatePayload>;

/** A LogEntry (https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry) as JSON, the message data a sink publishes. */
export const JobStateLogEntry = z
  .object({
    insertId: z.string().optional(),
    logName: z.string().min(1),
    resource: z.object({
      type: z.string().min(1),
      labels: z.record(z.string(), z.string()).default({}),
    }),
    severity: z.enum(LOG_SEVERITIES).optional(),
    timestamp: z.iso.datetime({ offset: true }),
    receiveTimestamp: z.iso.datetime({ offset: true }).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    jsonPayload: JobStatePayload.optional(),
    textPayload: z.string().optional(),
  })
  .loose()
  .refine((e) => (e.resource.labels.job_id ?? "") !== "", {
    message: "resource.labels.job_id is required",
    path: ["resource", "labels", "job_id"],
  });
export type JobStateLogEntry = z.infer<typeof JobStateLogEntry>;

/** Attribute a sink sets on each Pub/Sub message it writes. */
export const SINK_TIMESTAMP_ATTRIBUTE = "logging.googleapis.com/timestamp";

/** What Vertex's service messages say about the state, for entries that carry text only. */
const TEXT_STATES: ReadonlyArray<[RegExp, VertexJobState]> = [
  [/^job completed successfully/i, "JOB_STATE_SUCCEEDED"],
  [/^job failed/i, "JOB_STATE_FAILED"],
  [/^job (was )?cancell?ed/i, "JOB_STATE_CANCELLED"],
  [/^job is running/i, "JOB_STATE_RUNNING"],
  [/^waiting for job to be provisioned/i, "JOB_STATE_PENDING"],
];

/** The job id and, where the entry tells, its state and display name. */
export function jobStateOf(entry: JobStateLogEntry): {
  jobId: string;
  state: VertexJobState | null;
  displayName: string | null;
} {
  const jobId = entry.resource.labels.job_id ?? "";
  const text = entry.jsonPayload?.message ?? entry.textPayload ?? "";
  const fromText = TEXT_STATES.find(([re]) => re.test(text.trim()))?.[1] ?? null;
  const label = entry.labels?.[JOB_STATE_LABEL];
  const fromLabel = label ? VertexJobState.safeParse(`JOB_STATE_${label.replace(/^JOB_STATE_/, "")}`) : null;
  return {
    jobId,
    state: entry.jsonPayload?.state ?? (fromLabel?.success ? fromLabel.data : null) ?? fromText,
    displayName: entry.jsonPayload?.jobDisplayName ?? null,
  };
}

/**
 * Whether the pipeline may retry a job Vertex reports as ended. A replica that exited non-zero was already restarted
 * in place by Vertex (up to 5 times, then the job retried): retrying it again would multiply Vertex's restarts by the
 * pipeline's attempts, so that failure is final (docs/adr/0008). Anything else (preemptions, capacity, a cancel,
 * the pipeline's own deadline) is the pipeline's to retry, within budgets.jobAttempts.
 */
export function retryableJobEnd(state: string, error: string | null): boolean {
  return !(
    state.replace(/^JOB_STATE_/, "") === "FAILED" && /exited with a non-zero status/i.test(error ?? "")
  );
}

/** The service message Vertex writes on entering a state. */
export function stateMessage(state: VertexJobState): string {
  switch (state) {
    case "JOB_STATE_QUEUED":
      return "Job is queued.";
    case "JOB_STATE_PENDING":
      return "Waiting for job to be provisioned.";
    case "JOB_STATE_RUNNING":
      return "Job is running.";
    case "JOB_STATE_SUCCEEDED":
      return "Job completed successfully.";
    case "JOB_STATE_FAILED":
      return "Job failed.";
    case "JOB_STATE_CANCELLING":
      return "Job is being cancelled.";
    case "JOB_STATE_CANCELLED":
      return "Job was cancelled.";
    default:
      return `Job state is ${state}.`;
  }
}
