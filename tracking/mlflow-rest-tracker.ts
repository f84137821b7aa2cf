// The experiment tracker over MLflow's REST API (2.0 endpoints, served by every MLflow 2.x and 3.x tracking server).
import {
  TrackingError,
  type ExperimentTracker,
  type Metric,
  type RunData,
  type TrackedExperiment,
  type TrackedRun,
  type TrackedRunStatus,
} from "./experiment-tracker.ts";

export interface MlflowRestTrackerOptions {
  /** The tracking server, e.g. http://127.0.0.1:5000. */
  uri: string;
  /** Per request; an unreachable server must cost seconds, not minutes. */
  timeoutMs?: number;
  /** MLflow's own variables: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD. */
  token?: string;
  username?: string;
  password?: string;
  fetch?: typeof fetch;
}

/** MLflow's limits per log-batch request and per value. */
const BATCH = { metrics: 1000, params: 100, tags: 100 } as const;
const MAX_PARAM_VALUE = 6000;
const MAX_TAG_VALUE = 8000;

interface KeyValue {
  key: string;
  value: string;
}
interface RunJson {
  info: {
    run_id: string;
    experiment_id: string;
    run_name?: string;
    status?: TrackedRunStatus;
    artifact_uri?: string;
    start_time?: number | string;
  };
  data?: { tags?: KeyValue[]; params?: KeyValue[]; metrics?: { key: string; value: number }[] };
}
interface ExperimentJson {
  experiment_id: string;
  name: string;
  tags?: KeyValue[];
}

export class MlflowRestTracker implements ExperimentTracker {
  readonly uri: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly fetch: typeof fetch;

  constructor(options: MlflowRestTrackerOptions) {
    this.uri = options.uri.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.headers = { "content-type": "application/json" };
    if (options.token) this.headers.authorization = `Bearer ${options.token}`;
    else if (options.username !== undefined && options.password !== undefined)
      this.headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  }

  async getExperimentByName(name: string): Promise<TrackedExperiment | null> {
    const res = await this.call<{ experiment: ExperimentJson }>(
      "GET",
      `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
      undefined,
      ["RESOURCE_DOES_NOT_EXIST"],
    );
    return res ? toExperiment(res.experiment) : null;
  }

  async ensureExperiment(name: string, tags: Record<string, string> = {}): Promise<TrackedExperiment> {
    const found = await this.getExperimentByName(name);
    if (found) return found;
    const created = await this.call<{ experiment_id: string }>(
      "POST",
      "experiments/create",
      { name, tags: keyValues(tags, MAX_TAG_VALUE) },
      ["RESOURCE_ALREADY_EXISTS"],
    );
    if (created) return { experimentId: created.experiment_id, name, tags };
    // Another writer (the trainer, a redelivery) created it in between.
    const raced = await this.getExperimentByName(name);
    if (!raced) throw new TrackingError(`MLflow says experiment ${name} exists but cannot find it`);
    return raced;
  }

  async setExperimentTags(experimentId: string, tags: Record<string, string>): Promise<void> {
    for (const { key, value } of keyValues(tags, MAX_TAG_VALUE))
      await this.call("POST", "experiments/set-experiment-tag", { experiment_id: experimentId, key, value });
  }

  async findRuns(experimentId: string, tags: Record<string, string> = {}): Promise<TrackedRun[]> {
    const out: TrackedRun[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.call<{ runs?: RunJson[]; next_page_token?: string }>("POST", "runs/search", {
        experiment_ids: [experimentId],
        max_results: 1000,
        order_by: ["attributes.start_time DESC"],
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      for (const r of res?.runs ?? []) out.push(toRun(r));
      pageToken = res?.next_page_token || undefined;
    } while (pageToken);
    // Filtered here, not in MLflow's filter language, so tag values need no quoting rules.
    return out.filter((r) => Object.entries(tags).every(([k, v]) => r.tags[k] === v));
  }

  async createRun(
    experimentId: string,
    name: string,
    tags: Record<string, string>,
    startTime: number,
  ): Promise<TrackedRun> {
    const res = await this.call<{ run: RunJson }>("POST", "runs/create", {
      experiment_id: experimentId,
      run_name: name,
      start_time: startTime,
      tags: keyValues(tags, MAX_TAG_VALUE),
    });
    if (!res) throw new TrackingError("MLflow answered runs/create without a run");
    return toRun(res.run);
  }

  async logRunData(runId: string, data: RunData): Promise<void> {
    const params = keyValues(data.params ?? {}, MAX_PARAM_VALUE);
    const tags = keyValues(data.tags ?? {}, MAX_TAG_VALUE);
    const metrics: Metric[] = [...(data.metrics ?? [])];
    while (params.length > 0 || tags.length > 0 || metrics.length > 0) {
      await this.call("POST", "runs/log-batch", {
        run_id: runId,
        params: params.splice(0, BATCH.params),
        tags: tags.splice(0, BATCH.tags),
        metrics: metrics
          .splice(0, BATCH.metrics - BATCH.params - BATCH.tags)
          .map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step })),
      });
    }
  }

  async uploadArtifact(
    run: TrackedRun,
    path: string,
    data: Buffer | string,
    contentType: string,
  ): Promise<void> {
    const prefix = "mlflow-artifacts:/";
    if (!run.artifactUri.startsWith(prefix))
      throw new TrackingError(
        `run ${run.runId} stores artifacts at ${run.artifactUri}, which this server does not proxy (start it with --serve-artifacts)`,
      );
    const where = `${run.artifactUri.slice(prefix.length).replace(/^\/+/, "")}/${path}`
      .split("/")
      .map(encodeURIComponent)
      .join("/");
    await this.request("PUT", `${this.uri}/api/2.0/mlflow-artifacts/artifacts/${where}`, data, {
      "content-type": contentType,
    });
  }

  async deleteRun(runId: string): Promise<void> {
    await this.call("POST", "runs/delete", { run_id: runId });
  }

  async endRun(
    runId: string,
    status: Exclude<TrackedRunStatus, "RUNNING" | "SCHEDULED">,
    endTime: number,
  ): Promise<void> {
    await this.call("POST", "runs/update", { run_id: runId, status, end_time: endTime });
  }

  async reopenRun(runId: string): Promise<void> {
    await this.call("POST", "runs/update", { run_id: runId, status: "RUNNING" });
  }

  /** A JSON call to /api/2.0/mlflow/...; resolves null when MLflow answers with one of the `tolerated` error codes. */
  private async call<T>(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    tolerated: string[] = [],
  ): Promise<T | null> {
    const res = await this.request(
      method,
      `${this.uri}/api/2.0/mlflow/${path}`,
      body === undefined ? undefined : JSON.stringify(body),
      {},
      tolerated,
    );
    if (res === null) return null;
    return (res === "" ? {} : JSON.parse(res)) as T;
  }

  private async request(
    method: string,
    url: string,
    body: string | Buffer | undefined,
    headers: Record<string, string>,
    tolerated: string[] = [],
  ): Promise<string | null> {
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers: { ...this.headers, ...headers },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new TrackingError(
        `MLflow at ${this.uri} is unreachable: ${(err as Error).name === "TimeoutError" ? `no answer in ${this.timeoutMs} ms` : (cause ?? (err as Error).message)}`,
      );
    }
    const text = await response.text();
    if (response.ok) return text;
    let code = `HTTP ${response.status}`;
    let message = text.slice(0, 300);
    try {
      const json = JSON.parse(text) as { error_code?: string; message?: string };
      if (json.error_code) code = json.error_code;
      if (json.message) message = json.message;
    } catch {
      /* not JSON: keep the text */
    }
    if (tolerated.includes(code)) return null;
    throw new TrackingError(`MLflow ${method} ${url.slice(this.uri.length)} failed: ${code}: ${message}`);
  }
}

function keyValues(record: Record<string, string>, maxValue: number): KeyValue[] {
  return Object.entries(record).map(([key, value]) => ({
    key,
    value: value.length > maxValue ? `${value.slice(0, maxValue - 1)}…` : value,
  }));
}

function toRecord(list: KeyValue[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));
}

function toExperiment(e: ExperimentJson): TrackedExperiment {
  return { experimentId: e.experiment_id, name: e.name, tags: toRecord(e.tags) };
}

function toRun(r: RunJson): TrackedRun {
  return {
    runId: r.info.run_id,
    experimentId: r.info.experiment_id,
    name: r.info.run_name ?? "",
    status: r.info.status ?? "RUNNING",
    startTime: Number(r.info.start_time ?? 0),
    artifactUri: r.info.artifact_uri ?? "",
    tags: toRecord(r.data?.tags),
    params: toRecord(r.data?.params),
    metrics: Object.fromEntries((r.data?.metrics ?? []).map((m) => [m.key, m.value])),
  };
}
