// The job launcher port: start a step's job once per attempt, cancel it, and look it up.
import type { JobSpec } from "../../schemas/job-spec.ts";

export type JobState =
  "QUEUED" | "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLING" | "CANCELLED" | "EXPIRED";

export interface JobInfo {
  /** The launcher's own id (Vertex resource name, local process id). */
  jobId: string;
  jobName: string;
  state: JobState;
  labels: Record<string, string>;
  error: string | null;
  /** When the job ended (Vertex's endTime), where the launcher knows it. */
  endTime?: string | null;
}

export interface JobLauncher {
  /** Starts the job unless one with the same name exists; `created` tells which. */
  launch(spec: JobSpec): Promise<{ jobId: string; created: boolean }>;
  cancel(jobName: string): Promise<void>;
  /** Finds a job by its launcher id or its name; null when unknown. */
  describe(jobIdOrName: string): Promise<JobInfo | null>;
}
