// The stand-in's HyperparameterTuningJobs: created, listed, got and cancelled; trials run as parallel local replicas.
import * as grpc from "@grpc/grpc-js";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VertexJobState } from "../../events/job-state.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import { checkMachineSpec, type MachineSpecInput } from "./machine-specs.ts";
import {
  elapsedSince,
  stopReason,
  stoppingRuleOf,
  type Measurement,
  type StoppingRule,
} from "./automated-stopping.ts";
import type { Replica, ReplicaLauncher } from "./replica-launcher.ts";
import {
  JobLifecycle,
  TERMINAL,
  checkCreate,
  stopGracefully,
  type ListRequest,
  type LiveJobOf,
} from "./job-lifecycle.ts";
import { invalid, newNumericId, timestamp, type Timestamp } from "./resources.ts";
import {
  checkParameters,
  parameterFlag,
  seeded,
  suggest,
  type ParameterSpecInput,
  type SuggestedParameter,
} from "./study-search.ts";

export interface TrialProto {
  id: string;
  state: "ACTIVE" | "STOPPING" | "SUCCEEDED" | "INFEASIBLE";
  parameters: SuggestedParameter[];
  finalMeasurement: Measurement | null;
  measurements: Measurement[];
  startTime: Timestamp;
  endTime: Timestamp | null;
  infeasibleReason: string;
}

interface WorkerPool {
  containerSpec?: {
    imageUri?: string;
    command?: string[];
    args?: string[];
    env?: Array<{ name?: string; value?: string }>;
  } | null;
  machineSpec?: unknown;
}

export interface TuningJobProto {
  name: string;
  displayName: string;
  studySpec: {
    metrics?: Array<{ metricId?: string; goal?: string }>;
    parameters?: ParameterSpecInput[];
    algorithm?: string;
    measurementSelectionType?: string;
    [key: string]: unknown;
  };
  maxTrialCount: number;
  parallelTrialCount: number;
  maxFailedTrialCount: number;
  trialJobSpec: {
    workerPoolSpecs?: WorkerPool[];
    baseOutputDirectory?: { outputUriPrefix?: string } | null;
    [k: string]: unknown;
  };
  trials: TrialProto[];
  state: VertexJobState;
  createTime: Timestamp;
  startTime: Timestamp | null;
  endTime: Timestamp | null;
  updateTime: Timestamp;
  error: { code: number; message: string; details: unknown[] } | null;
  labels: Record<string, string>;
}

const NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/hyperparameterTuningJobs\/([^/]+)$/;

export interface TuningServiceOptions {
  launcher: ReplicaLauncher;
  log: Logger;
  provisionDelayMs?: number;
  /** Seeds the random search; the job's number is added so two jobs draw differently. */
  seed?: number;
  /** How often running trials' hypertune files are read into their measurements (and the stopping rule applied). */
  measurementPollMs?: number;
  /** Seconds a stopped trial gets between SIGTERM and SIGKILL. */
  graceSeconds?: number;
}

interface LiveTuning extends LiveJobOf<TuningJobProto> {
  replicas: Map<string, Replica>;
  folder: string;
  random: () => number;
  /** The study's automated stopping rule; null: trials run to their end. */
  rule: StoppingRule | null;
  /** Each running trial's hypertune file, by trial id. */
  metricFiles: Map<string, string>;
  poller: NodeJS.Timeout | null;
}

export class TuningService extends JobLifecycle<TuningJobProto, LiveTuning> {
  protected readonly kind = "HyperparameterTuningJob";
  private created = 0;

  constructor(private readonly options: TuningServiceOptions) {
    super();
  }

  create(parent: string, request: Partial<TuningJobProto> | null): TuningJobProto {
    const { input, displayName, labels } = checkCreate(
      "HyperparameterTuningJob",
      "hyperparameter_tuning_job",
      parent,
      request,
    );
    const study = input.studySpec;
    if (!study) throw invalid("HyperparameterTuningJob.study_spec is required.");
    if (study.metrics?.length !== 1 || !study.metrics[0]?.metricId)
      throw invalid(
        "study_spec.metrics must hold exactly one metric with a metric_id (the stand-in tunes one).",
      );
    const goal = study.metrics[0].goal;
    if (goal !== "MAXIMIZE" && goal !== "MINIMIZE")
      throw invalid("study_spec.metrics[0].goal must be MAXIMIZE or MINIMIZE.");
    const algorithm = study.algorithm ?? "ALGORITHM_UNSPECIFIED";
    checkParameters(study.parameters ?? [], algorithm);
    const rule = stoppingRuleOf(study);
    const max = Number(input.maxTrialCount ?? 0);
    const parallel = Number(input.parallelTrialCount ?? 0);
    if (!(max > 0)) throw invalid("HyperparameterTuningJob.max_trial_count must be positive.");
    if (!(parallel > 0)) throw invalid("HyperparameterTuningJob.parallel_trial_count must be positive.");
    const pools = input.trialJobSpec?.workerPoolSpecs ?? [];
    if (!pools[0]?.containerSpec?.imageUri)
      throw invalid(
        "trial_job_spec.worker_pool_specs[0].container_spec.image_uri is required (the stand-in runs container specs only).",
      );
    pools.forEach((p, i) =>
      checkMachineSpec(p.machineSpec as MachineSpecInput | null, `trial_job_spec.worker_pool_specs[${i}]`),
    );
    const now = timestamp();
    const job: TuningJobProto = {
      name: `${parent}/hyperparameterTuningJobs/${newNumericId()}`,
      displayName,
      studySpec: { ...study, algorithm },
      maxTrialCount: max,
      parallelTrialCount: parallel,
      maxFailedTrialCount: Number(input.maxFailedTrialCount ?? 0),
      trialJobSpec: input.trialJobSpec!,
      trials: [],
      state: "JOB_STATE_PENDING",
      createTime: now,
      startTime: null,
      endTime: null,
      updateTime: now,
      error: null,
      labels,
    };
    const live = this.hold({
      job,
      replicas: new Map(),
      folder: mkdtempSync(join(tmpdir(), "sp-hpt-")),
      random: seeded((this.options.seed ?? 20261203) + this.created++),
      rule,
      metricFiles: new Map(),
      poller: null,
    });
    this.options.log.info(`hyperparameter tuning job ${job.name} (${displayName}) created`, {
      maxTrialCount: max,
      parallelTrialCount: parallel,
    });
    setTimeout(() => this.start(live), this.options.provisionDelayMs ?? 0);
    return structuredClone(job);
  }

  protected checkName(name: string): void {
    if (!NAME.test(name))
      throw invalid(
        `Invalid HyperparameterTuningJob name "${name}": expected projects/{project}/locations/{location}/hyperparameterTuningJobs/{id}.`,
      );
  }

  list(req: ListRequest): { hyperparameterTuningJobs: TuningJobProto[]; nextPageToken: string } {
    const { items, nextPageToken } = this.page(req);
    return { hyperparameterTuningJobs: items, nextPageToken };
  }

  protected startCancelling(live: LiveTuning): void {
    this.setState(live, "JOB_STATE_CANCELLING");
    if (live.replicas.size === 0) this.end(live, "JOB_STATE_CANCELLED", null);
    for (const r of live.replicas.values()) r.kill("SIGTERM");
  }

  /** Every job that has not ended; close() kills its trials outright. */
  protected holdsWork(live: LiveTuning): boolean {
    return !TERMINAL.has(live.job.state);
  }

  protected shutDown(live: LiveTuning): void {
    if (live.replicas.size === 0) this.end(live, "JOB_STATE_CANCELLED", null);
    for (const r of live.replicas.values()) r.kill("SIGKILL");
  }

  private start(live: LiveTuning): void {
    if (live.cancelling) return this.end(live, "JOB_STATE_CANCELLED", null);
    live.job.startTime = timestamp();
    this.setState(live, "JOB_STATE_RUNNING");
    live.poller = setInterval(() => this.measure(live), this.options.measurementPollMs ?? 1000);
    live.poller.unref();
    this.fill(live);
  }

  /**
   * Reads each running trial's reports into its measurements, as Vertex shows them while a trial runs, then applies
   * the study's stopping rule: a trial it stops goes to STOPPING and its replica is stopped (SIGTERM, then SIGKILL).
   */
  private measure(live: LiveTuning): void {
    const { job } = live;
    const metric = job.studySpec.metrics![0]!;
    const completed = job.trials.filter((t) => t.state === "SUCCEEDED").map((t) => t.measurements);
    for (const [id, file] of live.metricFiles) {
      const trial = job.trials.find((t) => t.id === id)!;
      if (trial.state !== "ACTIVE") continue;
      const measurements = readMeasurements(file, metric.metricId!, trial.startTime);
      // hypertune keeps its last 100 reports: a new report shows in the last one, not always in the count.
      if (JSON.stringify(measurements.at(-1)) === JSON.stringify(trial.measurements.at(-1))) continue;
      trial.measurements = measurements;
      this.touch(live);
      const reason =
        live.rule && !live.cancelling
          ? stopReason(live.rule, measurements, completed, metric.goal !== "MINIMIZE")
          : null;
      if (reason) this.stopTrial(live, trial, reason);
    }
  }

  private stopTrial(live: LiveTuning, trial: TrialProto, reason: string): void {
    trial.state = "STOPPING";
    this.touch(live);
    this.options.log.info(`tuning job ${live.job.displayName}: stopping trial ${trial.id} early: ${reason}`);
    const replica = live.replicas.get(trial.id);
    if (replica) stopGracefully(replica, this.options.graceSeconds ?? 30);
  }

  /** Starts trials until parallelTrialCount run at once or maxTrialCount have started. */
  private fill(live: LiveTuning): void {
    const { job } = live;
    while (
      !live.cancelling &&
      live.replicas.size < job.parallelTrialCount &&
      job.trials.length < job.maxTrialCount
    )
      this.startTrial(live);
  }

  private startTrial(live: LiveTuning): void {
    const { job } = live;
    const study = job.studySpec;
    const id = String(job.trials.length + 1);
    const parameters = suggest(study.parameters ?? [], study.algorithm ?? "", job.trials.length, live.random);
    const trial: TrialProto = {
      id,
      state: "ACTIVE",
      parameters,
      finalMeasurement: null,
      measurements: [],
      startTime: timestamp(),
      endTime: null,
      infeasibleReason: "",
    };
    job.trials.push(trial);
    const c = job.trialJobSpec.workerPoolSpecs![0]!.containerSpec!;
    const metricFile = join(live.folder, `trial-${id}`, "output.metrics");
    mkdirSync(join(live.folder, `trial-${id}`), { recursive: true });
    const jobId = job.name.split("/").pop()!;
    const vertexEnv: Record<string, string> = {
      CLOUD_ML_JOB_ID: jobId,
      CLOUD_ML_TRIAL_ID: id,
      CLOUD_ML_HP_METRIC_FILE: metricFile,
    };
    if (hasAccelerator(job.trialJobSpec.workerPoolSpecs![0]!.machineSpec))
      vertexEnv.SP_ACCELERATOR_STAND_IN = "Vertex AI stand-in (local CPU)";
    const base = job.trialJobSpec.baseOutputDirectory?.outputUriPrefix;
    if (base) {
      // Vertex gives each trial its own folder under the base output directory, named by the trial id.
      const dir = `${base.replace(/\/+$/, "")}/${id}`;
      Object.assign(vertexEnv, {
        AIP_MODEL_DIR: `${dir}/model/`,
        AIP_CHECKPOINT_DIR: `${dir}/checkpoints/`,
        AIP_TENSORBOARD_LOG_DIR: `${dir}/logs/`,
      });
    }
    const replica = this.options.launcher.start({
      jobId,
      displayName: job.displayName,
      taskName: `trial-${id}`,
      container: {
        imageUri: c.imageUri ?? "",
        command: c.command ?? [],
        args: [...(c.args ?? []), ...parameters.map(parameterFlag)],
        env: (c.env ?? [])
          .map((e) => ({ name: e.name ?? "", value: e.value ?? "" }))
          .filter((e) => e.name !== ""),
      },
      vertexEnv,
    });
    live.replicas.set(id, replica);
    live.metricFiles.set(id, metricFile);
    this.touch(live);
    this.options.log.info(`tuning job ${job.displayName}: trial ${id} started`, {
      parameters: parameters.map(parameterFlag),
    });
    void replica.exited.then(({ code, signal }) => this.onTrialExit(live, trial, metricFile, code, signal));
  }

  private onTrialExit(
    live: LiveTuning,
    trial: TrialProto,
    metricFile: string,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    const { job } = live;
    live.replicas.delete(trial.id);
    live.metricFiles.delete(trial.id);
    const metricId = job.studySpec.metrics![0]!.metricId!;
    trial.measurements = readMeasurements(metricFile, metricId, trial.startTime);
    trial.endTime = timestamp();
    const maximise = job.studySpec.metrics![0]!.goal !== "MINIMIZE";
    // A trial the stopping rule stopped completes with what it reported, whatever its replica's exit: Vertex then
    // picks its final measurement from its measurements (CompleteTrialRequest: "auto-select a previously reported
    // measurement"), by the study's measurement_selection_type.
    const stopped = trial.state === "STOPPING";
    if ((code === 0 || stopped) && trial.measurements.length > 0) {
      trial.state = "SUCCEEDED";
      trial.finalMeasurement = finalOf(trial.measurements, job.studySpec.measurementSelectionType, maximise);
    } else {
      trial.state = "INFEASIBLE";
      trial.infeasibleReason =
        code === 0
          ? `The trial reported no ${metricId} through the hypertune metric file.`
          : `The trial's replica exited with ${code ?? signal}.`;
    }
    this.options.log.info(`tuning job ${job.displayName}: trial ${trial.id} ${trial.state.toLowerCase()}`, {
      value: trial.finalMeasurement?.metrics[0]?.value ?? null,
    });
    this.touch(live);
    if (live.cancelling) {
      if (live.replicas.size === 0) this.end(live, "JOB_STATE_CANCELLED", null);
      return;
    }
    const failed = job.trials.filter((t) => t.state === "INFEASIBLE").length;
    // Vertex fails the job once this many trials failed; 0 lets Vertex decide: the stand-in then waits for all of them.
    const limit = job.maxFailedTrialCount > 0 ? job.maxFailedTrialCount : job.maxTrialCount;
    if (failed >= limit) {
      live.cancelling = true;
      for (const r of live.replicas.values()) r.kill("SIGTERM");
      const error = {
        code: grpc.status.INTERNAL,
        message: `${failed} trial(s) failed: the tuning job allows ${limit}. Last: ${trial.infeasibleReason}`,
        details: [],
      };
      if (live.replicas.size === 0) this.end(live, "JOB_STATE_FAILED", error);
      else live.job.error = error;
      return;
    }
    this.fill(live);
    if (live.replicas.size === 0 && job.trials.length >= job.maxTrialCount) {
      const succeeded = job.trials.some((t) => t.state === "SUCCEEDED");
      this.end(
        live,
        succeeded ? "JOB_STATE_SUCCEEDED" : "JOB_STATE_FAILED",
        succeeded ? null : { code: grpc.status.INTERNAL, message: "No trial succeeded.", details: [] },
      );
    }
  }

  private end(live: LiveTuning, state: VertexJobState, error: TuningJobProto["error"]): void {
    if (TERMINAL.has(live.job.state)) return;
    if (live.poller) clearInterval(live.poller);
    // A job ended after a failed trial limit keeps that error though its last replicas were cancelled.
    live.job.error = error ?? live.job.error;
    if (state === "JOB_STATE_CANCELLED" && live.job.error) state = "JOB_STATE_FAILED";
    live.job.endTime = timestamp();
    this.setState(live, state);
    rmSync(live.folder, { recursive: true, force: true });
    live.finish();
  }

  private setState(live: LiveTuning, state: VertexJobState): void {
    live.job.state = state;
    this.touch(live);
    this.options.log.info(`tuning job ${live.job.displayName} is ${state}`);
  }

  private touch(live: LiveTuning): void {
    live.job.updateTime = timestamp();
  }
}

/** The reports of the hypertune file (JSON lines; sentiment_trainer/hypertune.py writes them) as measurements. */
export function readMeasurements(path: string, metricId: string, start?: Timestamp): Measurement[] {
  if (!existsSync(path)) return [];
  const out: Measurement[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line the trial did not finish writing
    }
    const value = Number(entry[metricId]);
    if (entry[metricId] === undefined || !Number.isFinite(value)) continue;
    const at = Number(entry.timestamp);
    out.push({
      // The elapsed duration is the report's time (hypertune's `timestamp`, seconds) less the trial's start.
      elapsedDuration: start && Number.isFinite(at) ? elapsedSince(start, at * 1000) : null,
      stepCount: String(Math.trunc(Number(entry.global_step ?? 0)) || 0),
      metrics: [{ metricId, value }],
    });
  }
  return out;
}

/** The trial's final measurement: its best (BEST_MEASUREMENT) or its last (the default, LAST_MEASUREMENT). */
export function finalOf(
  measurements: Measurement[],
  selection: string | undefined,
  maximise: boolean,
): Measurement {
  if (selection !== "BEST_MEASUREMENT") return measurements[measurements.length - 1]!;
  return measurements.reduce((a, b) => {
    const av = a.metrics[0]!.value;
    const bv = b.metrics[0]!.value;
    return (maximise ? bv > av : bv < av) ? b : a;
  });
}

function hasAccelerator(spec: unknown): boolean {
  const s = spec as { acceleratorCount?: number | string; machineType?: string } | null | undefined;
  return Number(s?.acceleratorCount ?? 0) > 0 || /^(a2|a3|g2)-/.test(s?.machineType ?? "");
}
