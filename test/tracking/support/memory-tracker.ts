// An experiment tracker in memory, shaped like MLflow's model, for tests of what the pipeline records.
import type {
  ExperimentTracker,
  RunData,
  TrackedExperiment,
  TrackedRun,
  TrackedRunStatus,
} from "../../../tracking/experiment-tracker.ts";

export class MemoryTracker implements ExperimentTracker {
  readonly uri: string = "memory://mlflow";
  readonly experiments: TrackedExperiment[] = [];
  readonly runs: TrackedRun[] = [];
  readonly artifacts = new Map<string, string>();
  calls = 0;

  getExperimentByName(name: string): Promise<TrackedExperiment | null> {
    this.calls++;
    return Promise.resolve(this.experiments.find((e) => e.name === name) ?? null);
  }

  async ensureExperiment(name: string, tags: Record<string, string> = {}): Promise<TrackedExperiment> {
    const found = await this.getExperimentByName(name);
    if (found) return found;
    const experiment = { experimentId: String(this.experiments.length + 1), name, tags: { ...tags } };
    this.experiments.push(experiment);
    return experiment;
  }

  setExperimentTags(experimentId: string, tags: Record<string, string>): Promise<void> {
    this.calls++;
    Object.assign(this.experiment(experimentId).tags, tags);
    return Promise.resolve();
  }

  findRuns(experimentId: string, tags: Record<string, string> = {}): Promise<TrackedRun[]> {
    this.calls++;
    return Promise.resolve(
      this.runs
        .filter((r) => r.experimentId === experimentId)
        .filter((r) => Object.entries(tags).every(([k, v]) => r.tags[k] === v))
        .reverse(),
    );
  }

  createRun(
    experimentId: string,
    name: string,
    tags: Record<string, string>,
    startTime: number,
  ): Promise<TrackedRun> {
    this.calls++;
    const run: TrackedRun = {
      runId: `run-${this.runs.length + 1}`,
      experimentId,
      name,
      status: "RUNNING",
      startTime,
      artifactUri: `mlflow-artifacts:/${experimentId}/run-${this.runs.length + 1}/artifacts`,
      tags: { ...tags },
      params: {},
      metrics: {},
    };
    this.runs.push(run);
    return Promise.resolve(run);
  }

  logRunData(runId: string, data: RunData): Promise<void> {
    this.calls++;
    const run = this.run(runId);
    for (const [k, v] of Object.entries(data.params ?? {})) {
      // MLflow refuses to change a logged parameter.
      if (run.params[k] !== undefined && run.params[k] !== v) throw new Error(`param ${k} changed`);
      run.params[k] = v;
    }
    Object.assign(run.tags, data.tags ?? {});
    for (const m of data.metrics ?? []) run.metrics[m.key] = m.value;
    return Promise.resolve();
  }

  uploadArtifact(run: TrackedRun, path: string, data: Buffer | string): Promise<void> {
    this.calls++;
    this.artifacts.set(`${run.runId}/${path}`, data.toString());
    return Promise.resolve();
  }

  endRun(runId: string, status: Exclude<TrackedRunStatus, "RUNNING" | "SCHEDULED">): Promise<void> {
    this.calls++;
    this.run(runId).status = status;
    return Promise.resolve();
  }

  reopenRun(runId: string): Promise<void> {
    this.calls++;
    this.run(runId).status = "RUNNING";
    return Promise.resolve();
  }

  deleteRun(runId: string): Promise<void> {
    this.calls++;
    this.runs.splice(this.runs.indexOf(this.run(runId)), 1);
    return Promise.resolve();
  }

  private experiment(id: string): TrackedExperiment {
    const e = this.experiments.find((x) => x.experimentId === id);
    if (!e) throw new Error(`no experiment ${id}`);
    return e;
  }

  private run(id: string): TrackedRun {
    const r = this.runs.find((x) => x.runId === id);
    if (!r) throw new Error(`no run ${id}`);
    return r;
  }
}
