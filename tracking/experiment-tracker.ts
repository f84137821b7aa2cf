// The experiment-tracker port: experiments, runs, params, metrics, tags and small artifacts, shaped after MLflow's model.
export type TrackedRunStatus = "RUNNING" | "FINISHED" | "FAILED" | "KILLED" | "SCHEDULED";

export interface TrackedRun {
  runId: string;
  experimentId: string;
  name: string;
  status: TrackedRunStatus;
  /** Milliseconds since the epoch. */
  startTime: number;
  /** Where the run's artifacts live (`mlflow-artifacts:/...` on a server that proxies artifacts). */
  artifactUri: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: Record<string, number>;
}

export interface TrackedExperiment {
  experimentId: string;
  name: string;
  tags: Record<string, string>;
}

export interface Metric {
  key: string;
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
}

export interface RunData {
  params?: Record<string, string>;
  metrics?: Metric[];
  tags?: Record<string, string>;
}

/** The tracker could not be reached or refused a request. */
export class TrackingError extends Error {
  override readonly name = "TrackingError";
}

export interface ExperimentTracker {
  /** The server, for messages and links. */
  readonly uri: string;
  getExperimentByName(name: string): Promise<TrackedExperiment | null>;
  /** Finds the experiment or creates it with these tags; safe when two callers race to create it. */
  ensureExperiment(name: string, tags?: Record<string, string>): Promise<TrackedExperiment>;
  setExperimentTags(experimentId: string, tags: Record<string, string>): Promise<void>;
  /** Runs of the experiment whose tags hold every given key and value, newest first. */
  findRuns(experimentId: string, tags?: Record<string, string>): Promise<TrackedRun[]>;
  createRun(
    experimentId: string,
    name: string,
    tags: Record<string, string>,
    startTime: number,
  ): Promise<TrackedRun>;
  logRunData(runId: string, data: RunData): Promise<void>;
  /** Stores a small file with the run (reports, JSON summaries). */
  uploadArtifact(run: TrackedRun, path: string, data: Buffer | string, contentType: string): Promise<void>;
  /** Moves a run to MLflow's trash (a duplicate lost a race to be created). */
  deleteRun(runId: string): Promise<void>;
  endRun(
    runId: string,
    status: Exclude<TrackedRunStatus, "RUNNING" | "SCHEDULED">,
    endTime: number,
  ): Promise<void>;
  /** Marks an ended run RUNNING again (a pipeline run retriggered after it completed). */
  reopenRun(runId: string): Promise<void>;
}
