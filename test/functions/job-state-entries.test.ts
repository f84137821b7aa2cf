// Vertex AI's job state log entries as real Vertex writes them (text only), the sink's filter, and which job ends the pipeline may retry.
import { describe, expect, it } from "vitest";
import {
  JOB_STATE_SINK_FILTER,
  JobStateLogEntry,
  jobStateOf,
  retryableJobEnd,
} from "../../events/job-state.ts";

const entry = (extra: object) =>
  JobStateLogEntry.parse({
    logName: "projects/p/logs/ml.googleapis.com%2F42",
    resource: { type: "ml_job", labels: { job_id: "42", project_id: "p", task_name: "service" } },
    timestamp: "2026-05-01T00:00:00.123456789Z",
    ...extra,
  });

describe("job state entries", () => {
  it("reads the state of a text-only entry from its message", () => {
    expect(jobStateOf(entry({ textPayload: "Job failed." })).state).toBe("JOB_STATE_FAILED");
    expect(jobStateOf(entry({ textPayload: "Job completed successfully." })).state).toBe(
      "JOB_STATE_SUCCEEDED",
    );
    expect(jobStateOf(entry({ textPayload: "Job was cancelled." })).state).toBe("JOB_STATE_CANCELLED");
  });

  it("reads the state from Vertex's ml.googleapis.com/job_state label, whatever the message says", () => {
    const e = entry({ labels: { "ml.googleapis.com/job_state": "FAILED" }, textPayload: "Something else." });
    expect(jobStateOf(e)).toEqual({ jobId: "42", state: "JOB_STATE_FAILED", displayName: null });
  });

  it("filters as gcloud does for a job's logs (ml_job and the job_id label), with no logName clause", () => {
    expect(JOB_STATE_SINK_FILTER).toContain('resource.type="ml_job"');
    expect(JOB_STATE_SINK_FILTER).toContain("resource.labels.job_id");
    expect(JOB_STATE_SINK_FILTER).not.toMatch(/logName/i);
  });

  it("retries no job that Vertex failed after restarting its replica, and any other end", () => {
    const exited = "The replica workerpool0-0 exited with a non-zero status of 1. Termination reason: Error.";
    expect(retryableJobEnd("JOB_STATE_FAILED", exited)).toBe(false);
    expect(retryableJobEnd("FAILED", exited)).toBe(false);
    expect(retryableJobEnd("FAILED", "Resources are insufficient in region: us-central1.")).toBe(true);
    expect(retryableJobEnd("CANCELLED", null)).toBe(true);
  });
});
