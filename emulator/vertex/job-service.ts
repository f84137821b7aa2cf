// The stand-in's JobService: custom jobs created, listed, got and cancelled; their replicas run locally through Vertex's states.
import * as grpc from "@grpc/grpc-js";
import type { JobStateLogEntry, VertexJobState } from "../../events/job-state.ts";
import { JOB_STATE_LABEL, stateMessage } from "../../events/job-state.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import type { ContainerSpec, Replica, ReplicaLauncher } from "./replica-launcher.ts";
import { checkMachineSpec, type MachineSpecInput } from "./machine-specs.ts";
import {
  JobLifecycle,
  TERMINAL,
  checkCreate,
  stopGracefully,
  type ListRequest,
  type LiveJobOf,
} from "./job-lifecycle.ts";
import {
  RpcError,
  invalid,
  newNumericId,
  parseCustomJobName,
  timestamp,
  type Timestamp,
} from "./resources.ts";

/** A CustomJob as the proto has it (camelCase), the fields the stand-in fills. */
export interface CustomJob {
  name: string;
  displayName: string;
  jobSpec: JobSpecProto;
  state: VertexJobState;
  createTime: Timestamp;
  startTime: Timestamp | null;
  endTime: Timestamp | null;
  updateTime: Timestamp;
  error: { code: number; message: string; details: unknown[] } | null;
  labels: Record<string, string>;
  webAccessUris: Record<string, string>;
}

interface JobSpecProto {
  workerPoolSpecs: Array<{
    containerSpec?: {
      imageUri?: string;
      command?: string[];
      args?: string[];
      env?: Array<{ name?: string; value?: string }>;
    } | null;
    pythonPackageSpec?: unknown;
    machineSpec?: unknown;
    replicaCount?: string;
    diskSpec?: unknown;
  }>;
  baseOutputDirectory?: { outputUriPrefix?: string } | null;
  scheduling?: {
    timeout?: { seconds?: string; nanos?: number } | null;
    strategy?: string;
    restartJobOnWorkerRestart?: boolean;
  } | null;
  serviceAccount?: string;
  [key: string]: unknown;
}

export interface JobServiceOptions {
  launcher: ReplicaLauncher;
  /** Receives one entry per state change, shaped like the Vertex service log; the stack publishes them to the job-states topic. */
  onEntry?: (entry: JobStateLogEntry) => Promise<void>;
  log: Logger;
  /** Seconds a replica gets between SIGTERM and SIGKILL on preemption or cancel (Vertex gives Spot VMs 30). */
  graceSeconds?: number;
  /**
   * Restarts of one replica before the job fails (Vertex allows 5), counted apart for preemptions and for non-zero
   * exits: Vertex restarts a worker that exits non-zero in place, as it does a preempted one.
   */
  maxRestarts?: number;
  /** Time spent in QUEUED and PENDING, to let watchers see the states. */
  provisionDelayMs?: number;
}

interface LiveJob extends LiveJobOf<CustomJob> {
  replica: Replica | null;
  restarts: number;
  /** Restarts after the replica exited non-zero on its own. */
  exitRestarts: number;
  preempting: boolean;
  timeoutTimer: NodeJS.Timeout | null;
}

export class JobService extends JobLifecycle<CustomJob, LiveJob> {
  protected readonly kind = "CustomJob";
  private entries: Promise<void> = Promise.resolve();
  /** Every CreateCustomJob call per display name, for tests that check exactly one job per step attempt. */
  readonly createCalls = new Map<string, number>();

  constructor(private readonly options: JobServiceOptions) {
    super();
  }

  create(parent: string, request: Partial<CustomJob> | null): CustomJob {
    const { input, displayName, labels } = checkCreate("CustomJob", "custom_job", parent, request);
    const spec = input.jobSpec;
    const pool = spec?.workerPoolSpecs?.[0];
    if (!spec || !pool)
      throw invalid("CustomJob.job_spec.worker_pool_specs must hold at least one worker pool.");
    if (!pool.containerSpec?.imageUri) {
      throw invalid(
        "worker_pool_specs[0].container_spec.image_uri is required (the stand-in runs container specs only).",
      );
    }
    spec.workerPoolSpecs.forEach((p, i) =>
      checkMachineSpec(p.machineSpec as MachineSpecInput | null, `worker_pool_specs[${i}]`),
    );
    checkPools(spec);
    this.createCalls.set(displayName, (this.createCalls.get(displayName) ?? 0) + 1);
    const now = timestamp();
    const job: CustomJob = {
      name: `${parent}/customJobs/${newNumericId()}`,
      displayName,
      jobSpec: spec,
      state: "JOB_STATE_QUEUED",
      createTime: now,
      startTime: null,
      endTime: null,
      updateTime: now,
      error: null,
      labels,
      webAccessUris: {},
    };
    const live = this.hold({
      job,
      replica: null,
      restarts: 0,
      exitRestarts: 0,
      preempting: false,
      timeoutTimer: null,
    });
    this.emit(live, "JOB_STATE_QUEUED");
    setTimeout(() => this.provision(live), this.options.provisionDelayMs ?? 0);
    this.options.log.info(`custom job ${job.name} (${displayName}) created`, { jobId: idOf(job) });
    return structuredClone(job);
  }

  protected checkName(name: string): void {
    parseCustomJobName(name);
  }

  list(req: ListRequest): { customJobs: CustomJob[]; nextPageToken: string } {
    const { items, nextPageToken } = this.page(req);
    return { customJobs: items, nextPageToken };
  }

  protected startCancelling(live: LiveJob): void {
    this.emit(live, "JOB_STATE_CANCELLING");
    if (live.replica) this.stopReplica(live.replica);
    else this.end(live, "JOB_STATE_CANCELLED", null);
  }

  /** Fault injection: preempt the replica as a Spot VM is (SIGTERM, grace, SIGKILL), then restart it in place. */
  preempt(name: string): void {
    const live = this.get(name);
    if (live.job.state !== "JOB_STATE_RUNNING" || !live.replica) {
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `CustomJob ${name} is ${live.job.state}, not running.`,
      );
    }
    live.preempting = true;
    this.options.log.warn(`preempting ${live.job.displayName}`, { jobId: idOf(live.job) });
    this.stopReplica(live.replica);
  }

  /** Fault injection: kill the replica outright (SIGKILL), as an out-of-memory kill or a crashed VM does. */
  kill(name: string, signal: NodeJS.Signals = "SIGKILL"): void {
    const live = this.get(name);
    if (!live.replica)
      throw new RpcError(grpc.status.FAILED_PRECONDITION, `CustomJob ${name} has no running replica.`);
    this.options.log.warn(`sending ${signal} to ${live.job.displayName}`, { jobId: idOf(live.job) });
    live.replica.kill(signal);
  }

  /**
   * Every job that has not ended: close() stops a running replica (SIGTERM, then SIGKILL after the grace period) and
   * cancels a queued or pending job, whose provisioning timer would otherwise start a replica after the stand-in closed.
   */
  protected holdsWork(live: LiveJob): boolean {
    return !TERMINAL.has(live.job.state);
  }

  protected shutDown(live: LiveJob): void {
    if (live.replica) this.stopReplica(live.replica);
    else this.end(live, "JOB_STATE_CANCELLED", null);
  }

  /** Stops every replica and waits for them, then for the state entries still on their way. */
  override async close(): Promise<void> {
    await super.close();
    await this.entries;
  }

  private provision(live: LiveJob): void {
    if (live.cancelling) return;
    this.emit(live, "JOB_STATE_PENDING");
    setTimeout(() => this.startReplica(live), this.options.provisionDelayMs ?? 0);
  }

  private startReplica(live: LiveJob): void {
    if (live.cancelling) {
      this.end(live, "JOB_STATE_CANCELLED", null);
      return;
    }
    const { job } = live;
    const tasks = tasksOf(job);
    // Each replica of a distributed job gets its own port on this one host, where Vertex gives each its own host.
    // Below Linux's ephemeral range (32768 and up), where outgoing connections would take them; a port taken anyway
    // fails the chief's rendezvous, and the restart (as Vertex restarts a failed replica) draws another.
    const basePort = tasks.length > 1 ? 20_000 + Math.floor(Math.random() * 12_000) : 2222;
    const replica = startAll(
      tasks.map(({ pool, index }) =>
        this.options.launcher.start({
          jobId: idOf(job),
          displayName: job.displayName,
          taskName: `workerpool${pool}-${index}`,
          container: containerOf(job.jobSpec.workerPoolSpecs[pool]!.containerSpec!),
          vertexEnv: vertexEnvOf(job, { pool, index }, basePort),
        }),
      ),
      tasks.map(({ pool, index }) => `workerpool${pool}-${index}`),
    );
    live.replica = replica;
    if (job.state !== "JOB_STATE_RUNNING") {
      job.startTime = timestamp();
      this.emit(live, "JOB_STATE_RUNNING");
      const seconds = Number(job.jobSpec.scheduling?.timeout?.seconds ?? 0);
      if (seconds > 0) {
        live.timeoutTimer = setTimeout(() => {
          if (!live.replica) return;
          live.job.error = {
            code: grpc.status.DEADLINE_EXCEEDED,
            message: `The job exceeded its timeout of ${seconds}s.`,
            details: [],
          };
          this.stopReplica(live.replica);
        }, seconds * 1000);
        live.timeoutTimer.unref();
      }
    }
    void replica.exited.then(({ code, signal, task }) => this.onExit(live, replica, code, signal, task));
  }

  private onExit(
    live: LiveJob,
    replica: Replica,
    code: number | null,
    signal: NodeJS.Signals | null,
    task = "workerpool0-0",
  ): void {
    if (live.replica !== replica) return;
    live.replica = null;
    const status = code ?? 128 + signalNumber(signal);
    if (live.cancelling) {
      this.end(live, "JOB_STATE_CANCELLED", null);
      return;
    }
    if (live.job.error?.code === grpc.status.DEADLINE_EXCEEDED) {
      this.end(live, "JOB_STATE_FAILED", live.job.error);
      return;
    }
    if (live.preempting) {
      live.preempting = false;
      live.restarts += 1;
      if (live.restarts > (this.options.maxRestarts ?? 5)) {
        this.end(live, "JOB_STATE_FAILED", {
          code: grpc.status.UNAVAILABLE,
          message: `The replica ${task} was preempted ${live.restarts} times; the job failed.`,
          details: [],
        });
        return;
      }
      this.emitMessage(
        live,
        `The replica ${task} was preempted and exited with status ${status}; restarting it (restart ${live.restarts}).`,
        "WARNING",
      );
      this.startReplica(live);
      return;
    }
    if (status === 0) {
      this.end(live, "JOB_STATE_SUCCEEDED", null);
      return;
    }
    const reason =
      status === 127 && code === 127
        ? "the command could not be started"
        : signal
          ? `killed by ${signal}`
          : "Error";
    // A container that cannot start is one of Vertex's permanent errors; any other non-zero exit is restarted in
    // place, up to maxRestarts times (https://cloud.google.com/vertex-ai/docs/training/understanding-training-service).
    const permanent = status === 127 && code === 127;
    if (!permanent && live.exitRestarts < (this.options.maxRestarts ?? 5)) {
      live.exitRestarts += 1;
      this.emitMessage(
        live,
        `The replica ${task} exited with a non-zero status of ${status} (${reason}); restarting it (restart ${live.exitRestarts}).`,
        "WARNING",
      );
      this.startReplica(live);
      return;
    }
    this.end(live, "JOB_STATE_FAILED", {
      code: grpc.status.INVALID_ARGUMENT,
      message:
        `The replica ${task} exited with a non-zero status of ${status}. Termination reason: ${reason}. ` +
        (live.exitRestarts > 0 ? `It was restarted ${live.exitRestarts} times. ` : "") +
        `To find out more about why your job exited please check the logs of job ${idOf(live.job)}.`,
      details: [],
    });
  }

  private stopReplica(replica: Replica): void {
    stopGracefully(replica, this.options.graceSeconds ?? 30);
  }

  private end(live: LiveJob, state: VertexJobState, error: CustomJob["error"]): void {
    if (TERMINAL.has(live.job.state)) return;
    if (live.timeoutTimer) clearTimeout(live.timeoutTimer);
    live.job.error = error;
    live.job.endTime = timestamp();
    this.emit(live, state);
    this.options.log.info(`custom job ${live.job.displayName} ${state}`, {
      jobId: idOf(live.job),
      ...(error ? { error: error.message } : {}),
    });
    live.finish();
  }

  private emit(live: LiveJob, state: VertexJobState): void {
    live.job.state = state;
    live.job.updateTime = timestamp();
    this.emitMessage(live, stateMessage(state), state === "JOB_STATE_FAILED" ? "ERROR" : "INFO", true);
  }

  private emitMessage(
    live: LiveJob,
    message: string,
    severity: "INFO" | "WARNING" | "ERROR",
    stateChange = false,
  ): void {
    const onEntry = this.options.onEntry;
    if (!onEntry) return;
    const entry = logEntryOf(live.job, message, severity, stateChange);
    // One chain: entries leave in the order the states changed.
    this.entries = this.entries
      .then(() => onEntry(entry))
      .catch((err: unknown) =>
        this.options.log.error(
          `could not publish the state of ${live.job.displayName}: ${(err as Error).message}`,
        ),
      );
  }
}

export function idOf(job: CustomJob): string {
  return job.name.slice(job.name.lastIndexOf("/") + 1);
}

/** The environment Vertex gives a custom job's containers (see CustomJobSpec.base_output_directory). */
export function vertexEnvOf(
  job: CustomJob,
  task: { pool: number; index: number } = { pool: 0, index: 0 },
  basePort = 2222,
): Record<string, string> {
  const { project } = parseCustomJobName(job.name);
  const id = idOf(job);
  // CLUSTER_SPEC lists every replica by pool (https://cloud.google.com/vertex-ai/docs/training/distributed-training).
  const cluster: Record<string, string[]> = {};
  tasksOf(job).forEach(({ pool, index }, k) =>
    (cluster[`workerpool${pool}`] ??= []).splice(index, 0, `127.0.0.1:${basePort + k}`),
  );
  const env: Record<string, string> = {
    CLOUD_ML_JOB_ID: id,
    CLOUD_ML_PROJECT_ID: project,
    CLUSTER_SPEC: JSON.stringify({
      cluster,
      environment: "cloud",
      task: { type: `workerpool${task.pool}`, index: task.index },
      job: JSON.stringify({ job_id: id }),
    }),
  };
  if (Object.keys(cluster).length > 1) {
    // What Vertex's PyTorch containers get too: the chief's address, for torch.distributed's rendezvous.
    env.MASTER_ADDR = "127.0.0.1";
    env.MASTER_PORT = String(basePort);
  }
  // The stand-in attaches no GPU: it says so, so that the trainer runs a GPU spec on the CPU instead of refusing it.
  const pool = job.jobSpec.workerPoolSpecs[0];
  if (pool && hasAccelerator(pool.machineSpec))
    env.SP_ACCELERATOR_STAND_IN = "Vertex AI stand-in (local CPU)";
  const base = job.jobSpec.baseOutputDirectory?.outputUriPrefix;
  if (base) {
    const dir = base.replace(/\/+$/, "");
    env.AIP_MODEL_DIR = `${dir}/model/`;
    env.AIP_CHECKPOINT_DIR = `${dir}/checkpoints/`;
    env.AIP_TENSORBOARD_LOG_DIR = `${dir}/logs/`;
  }
  return env;
}

/**
 * The service log entry of a state change as Vertex writes it: the message as text, the job's state in the entry's
 * `ml.googleapis.com/job_state` label, nothing structured (no display name, no error): readers ask the job service.
 */
export function logEntryOf(
  job: CustomJob,
  message: string,
  severity: "INFO" | "WARNING" | "ERROR",
  stateChange = true,
): JobStateLogEntry {
  const { project } = parseCustomJobName(job.name);
  const id = idOf(job);
  const now = new Date().toISOString();
  return {
    insertId: `${id}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    logName: `projects/${project}/logs/ml.googleapis.com%2F${id}`,
    resource: { type: "ml_job", labels: { job_id: id, project_id: project, task_name: "service" } },
    severity,
    timestamp: now,
    receiveTimestamp: now,
    ...(stateChange ? { labels: { [JOB_STATE_LABEL]: job.state.replace(/^JOB_STATE_/, "") } } : {}),
    textPayload: message,
  };
}

function hasAccelerator(machine: unknown): boolean {
  const m = (machine ?? {}) as { acceleratorType?: unknown; acceleratorCount?: unknown };
  const type = m.acceleratorType;
  return (
    type !== undefined &&
    type !== null &&
    type !== "ACCELERATOR_TYPE_UNSPECIFIED" &&
    type !== 0 &&
    Number(m.acceleratorCount ?? 0) > 0
  );
}

function signalNumber(signal: NodeJS.Signals | null): number {
  switch (signal) {
    case "SIGKILL":
      return 9;
    case "SIGTERM":
      return 15;
    case "SIGINT":
      return 2;
    case null:
      return 0;
    default:
      return 1;
  }
}

/** The replicas a job runs: pool 0's one chief, then pool 1's workers (the pools data-parallel training uses). */
export function tasksOf(job: CustomJob): Array<{ pool: number; index: number }> {
  const tasks = [{ pool: 0, index: 0 }];
  const workers = job.jobSpec.workerPoolSpecs[1];
  for (let i = 0; i < Number(workers?.replicaCount ?? 0); i += 1) tasks.push({ pool: 1, index: i });
  return tasks;
}

/** What Vertex refuses in a job's worker pools, and what the stand-in cannot run (it says so rather than ignore it). */
function checkPools(spec: JobSpecProto): void {
  const pools = spec.workerPoolSpecs;
  if (pools.length > 1 && Number(pools[0]!.replicaCount ?? 1) !== 1)
    throw invalid(
      "worker_pool_specs[0].replica_count must be 1 in a job of several worker pools (the primary replica).",
    );
  if (pools.length > 2)
    throw invalid(
      "the stand-in runs worker_pool_specs[0] and [1] only (chief and workers); parameter servers and evaluators are not emulated.",
    );
  const workers = pools[1];
  if (workers) {
    if (!workers.containerSpec?.imageUri)
      throw invalid(
        "worker_pool_specs[1].container_spec.image_uri is required (the stand-in runs container specs only).",
      );
    if (!(Number(workers.replicaCount ?? 0) >= 1))
      throw invalid("worker_pool_specs[1].replica_count must be at least 1.");
  }
}

function containerOf(
  c: NonNullable<JobSpecProto["workerPoolSpecs"][number]["containerSpec"]>,
): ContainerSpec {
  return {
    imageUri: c.imageUri ?? "",
    command: c.command ?? [],
    args: c.args ?? [],
    env: (c.env ?? [])
      .map((e) => ({ name: e.name ?? "", value: e.value ?? "" }))
      .filter((e) => e.name !== ""),
  };
}

/**
 * The replicas of one job as one: it ends when every replica exited 0, or as soon as one fails (the others are then
 * stopped, as a data-parallel group cannot go on without a member), reporting that one. Restarting it restarts them
 * all, as Vertex does with scheduling.restartJobOnWorkerRestart.
 */
function startAll(replicas: Replica[], tasks: string[]): Replica {
  if (replicas.length === 1) return replicas[0]!;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; task?: string }>(
    (resolve) => {
      let left = replicas.length;
      replicas.forEach(
        (r, i) =>
          void r.exited.then(({ code, signal }) => {
            left -= 1;
            if (code !== 0) {
              for (const other of replicas) if (other !== r) other.kill("SIGKILL");
              resolve({ code, signal, task: tasks[i]! });
            } else if (left === 0) resolve({ code: 0, signal: null, task: tasks[0]! });
          }),
      );
    },
  );
  return {
    pid: replicas[0]!.pid,
    exited,
    kill: (signal) => replicas.forEach((r) => r.kill(signal)),
  };
}
