// The job launcher over Vertex AI custom jobs (or the local stand-in): one CustomJob per job name, found again by name.
import type { v1, protos } from "@google-cloud/aiplatform";
import type { PipelineConfig } from "../../schemas/config.ts";
import { VERTEX_JOB_STATES } from "../../events/job-state.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";
import type { JobInfo, JobLauncher, JobState } from "../ports/job-launcher.ts";
import {
  grpcCode,
  locationName,
  vertexClientOptions,
  vertexLocationOf,
  type VertexLocation,
  loadAiplatform,
} from "./vertex-client-options.ts";

type JobServiceClient = InstanceType<typeof v1.JobServiceClient>;
type CustomJob = protos.google.cloud.aiplatform.v1.ICustomJob;

export interface VertexJobLauncherOptions extends VertexLocation {
  /** Service account the jobs run as; unset: Vertex's default. */
  serviceAccount?: string;
  /** One service account per job step (deploy makes one per job kind); wins over serviceAccount. */
  serviceAccounts?: Partial<Record<JobSpec["step"], string>>;
  client?: JobServiceClient;
}

type AcceleratorType = keyof typeof protos.google.cloud.aiplatform.v1.AcceleratorType;

const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;

export class VertexJobLauncher implements JobLauncher {
  private client: Promise<JobServiceClient> | null;
  private readonly parent: string;
  /** Launches of one name in this process queue behind each other, so the check-then-create below cannot race itself. */
  private readonly inFlight = new Map<string, Promise<{ jobId: string; created: boolean }>>();

  constructor(private readonly options: VertexJobLauncherOptions) {
    this.client = options.client ? Promise.resolve(options.client) : null;
    this.parent = locationName(options);
  }

  /** The official JobServiceClient, created on first use. */
  jobClient(): Promise<JobServiceClient> {
    return (this.client ??= loadAiplatform().then(
      ({ v1 }) => new v1.JobServiceClient(vertexClientOptions(this.options)),
    ));
  }

  launch(spec: JobSpec): Promise<{ jobId: string; created: boolean }> {
    const previous = this.inFlight.get(spec.jobName) ?? Promise.resolve(null);
    const next = previous.catch(() => null).then(() => this.launchOnce(spec));
    this.inFlight.set(spec.jobName, next);
    const clear = (): void => {
      if (this.inFlight.get(spec.jobName) === next) this.inFlight.delete(spec.jobName);
    };
    next.then(clear, clear);
    return next;
  }

  private async launchOnce(spec: JobSpec): Promise<{ jobId: string; created: boolean }> {
    const existing = await this.findByName(spec.jobName);
    if (existing?.name) return { jobId: existing.name, created: false };
    const [job] = await (
      await this.jobClient()
    ).createCustomJob({
      parent: this.parent,
      customJob: customJobOf(spec, this.options.serviceAccounts?.[spec.step] ?? this.options.serviceAccount),
    });
    if (!job.name) throw new Error(`Vertex AI returned no name for the new job ${spec.jobName}`);
    return { jobId: job.name, created: true };
  }

  async cancel(jobName: string): Promise<void> {
    const job = await this.findByName(jobName);
    if (!job?.name) return;
    try {
      await (await this.jobClient()).cancelCustomJob({ name: job.name });
    } catch (err) {
      // Already finished (or gone): there is nothing left to cancel.
      if (grpcCode(err) === FAILED_PRECONDITION || grpcCode(err) === NOT_FOUND) return;
      throw err;
    }
  }

  async describe(jobIdOrName: string): Promise<JobInfo | null> {
    let job: CustomJob | null;
    if (jobIdOrName.startsWith("projects/") || /^\d+$/.test(jobIdOrName)) {
      const name = jobIdOrName.startsWith("projects/")
        ? jobIdOrName
        : `${this.parent}/customJobs/${jobIdOrName}`;
      try {
        [job] = await (await this.jobClient()).getCustomJob({ name });
      } catch (err) {
        if (grpcCode(err) === NOT_FOUND) return null;
        throw err;
      }
    } else {
      job = await this.findByName(jobIdOrName);
    }
    return job ? jobInfoOf(job) : null;
  }

  /** The job with this display name; the oldest when a race made several. */
  private async findByName(jobName: string): Promise<CustomJob | null> {
    const [jobs] = await (
      await this.jobClient()
    ).listCustomJobs({ parent: this.parent, filter: `display_name="${jobName}"` }, { autoPaginate: true });
    const mine = jobs.filter((j) => j.displayName === jobName);
    mine.sort(
      (a, b) => seconds(a.createTime) - seconds(b.createTime) || String(a.name).localeCompare(String(b.name)),
    );
    return mine[0] ?? null;
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
  }
}

export function vertexJobLauncherFromConfig(
  config: PipelineConfig,
  serviceAccounts?: Partial<Record<JobSpec["step"], string>>,
): VertexJobLauncher {
  return new VertexJobLauncher({
    ...vertexLocationOf(config),
    ...(serviceAccounts ? { serviceAccounts } : {}),
  });
}

/**
 * The CustomJob of a spec: display name = job name, labels run_id/step/attempt, Spot when asked, outputs under outputDir.
 * A spec of several replicas gets Vertex's distributed layout: pool 0 holds the chief alone (replicaCount 1), pool 1
 * the other replicas, each machine with the same GPUs; Vertex then tells each replica its place in CLUSTER_SPEC.
 * restartJobOnWorkerRestart: a data-parallel group cannot take back one restarted worker, so Vertex restarts them all
 * and they resume from the chief's checkpoint.
 */
/**
 * The account a job runs as, in its own environment: the tune job runs its tuning trials as that account too. (A
 * job could ask the metadata server; this needs no client, and says nothing when the job runs as Vertex's agent.)
 */
export const JOB_ACCOUNT_ENV = "SP_JOB_SERVICE_ACCOUNT";

export function customJobOf(spec: JobSpec, serviceAccount?: string): CustomJob {
  const m = spec.machine;
  const env = { ...spec.env, ...(serviceAccount ? { [JOB_ACCOUNT_ENV]: serviceAccount } : {}) };
  const pool = (replicaCount: number) => ({
    machineSpec:
      m.acceleratorType && m.acceleratorCount > 0
        ? {
            machineType: m.machineType,
            acceleratorType: m.acceleratorType as AcceleratorType,
            acceleratorCount: m.acceleratorCount,
          }
        : { machineType: m.machineType },
    replicaCount,
    diskSpec: { bootDiskType: "pd-ssd", bootDiskSizeGb: m.bootDiskGb },
    containerSpec: {
      imageUri: spec.imageUri,
      args: [...spec.args],
      env: Object.entries(env).map(([name, value]) => ({ name, value })),
    },
  });
  const distributed = m.replicaCount > 1;
  return {
    displayName: spec.jobName,
    labels: { run_id: spec.runId, step: spec.step, attempt: String(spec.attempt), app: "sentiment-pipeline" },
    jobSpec: {
      workerPoolSpecs: distributed ? [pool(1), pool(m.replicaCount - 1)] : [pool(1)],
      // Vertex sets AIP_MODEL_DIR=<dir>/model/ and AIP_CHECKPOINT_DIR=<dir>/checkpoints/ from this.
      baseOutputDirectory: { outputUriPrefix: spec.outputDir },
      scheduling: {
        timeout: { seconds: m.timeoutSeconds },
        strategy: m.spot ? "SPOT" : "STANDARD",
        ...(distributed ? { restartJobOnWorkerRestart: true } : {}),
      },
      ...(serviceAccount ? { serviceAccount } : {}),
    },
  };
}

export function jobInfoOf(job: CustomJob): JobInfo {
  return {
    jobId: job.name ?? "",
    jobName: job.displayName ?? "",
    state: portState(job.state),
    labels: { ...(job.labels ?? {}) },
    error: job.error?.message ? job.error.message : null,
    endTime: job.endTime?.seconds ? new Date(Number(job.endTime.seconds) * 1000).toISOString() : null,
  };
}

/** Vertex's JOB_STATE_X as the port's X; states custom jobs never enter map to their nearest neighbour. */
export function portState(state: unknown): JobState {
  const name =
    typeof state === "number" ? (VERTEX_JOB_STATES[state] ?? "") : typeof state === "string" ? state : "";
  const s = name.replace(/^JOB_STATE_/, "");
  switch (s) {
    case "QUEUED":
    case "PENDING":
    case "RUNNING":
    case "SUCCEEDED":
    case "FAILED":
    case "CANCELLING":
    case "CANCELLED":
    case "EXPIRED":
      return s;
    case "UPDATING":
      return "RUNNING";
    case "PAUSED":
      return "PENDING";
    case "PARTIALLY_SUCCEEDED":
      return "FAILED";
    default:
      return "QUEUED";
  }
}

function seconds(ts: { seconds?: unknown } | null | undefined): number {
  return Number(ts?.seconds ?? 0);
}
