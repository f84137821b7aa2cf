// What every TypeScript job shares: parse its arguments, open the store and bus, log with labels, report failure.
import { loadConfig } from "../../schemas/load-config.ts";
import type { PipelineConfig } from "../../schemas/config.ts";
import { jobName as makeJobName, runDir, type JobStep } from "../../schemas/names.ts";
import type { JobInput } from "../../schemas/job-input.ts";
import { makeEvent } from "../../events/codec.ts";
import type { EventData, EventType, JobProgress } from "../../events/catalogue.ts";
import type { EventBus } from "../../platform/ports/event-bus.ts";
import type { ObjectStore } from "../../platform/ports/object-store.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { createJobEventBus, createObjectStore } from "../../platform/composition-root.ts";
import { argsToInput, JobArgumentError } from "../specs/job-args.ts";

/** A failure that retrying cannot fix (unusable input, missing model): the run fails with this message. */
export class NonRetryableJobError extends Error {
  override readonly name = "NonRetryableJobError";
}

/** What a job says while it runs: its events and its progress, both stamped with its run and attempt. */
export interface JobEvents {
  /** Publishes an event of this job's run and attempt. */
  emit<T extends EventType>(type: T, data: EventData<T>): Promise<void>;
  /** Publishes job.progress; cheap enough to call per epoch or per batch group. */
  progress(
    unit: JobProgress["data"]["unit"],
    current: number,
    total: number | null,
    message?: string,
  ): Promise<void>;
}

export interface JobContext<S extends JobStep> extends JobEvents {
  input: Extract<JobInput, { step: S }>;
  config: PipelineConfig;
  store: ObjectStore;
  bus: EventBus;
  log: Logger;
}

export interface JobDeps {
  env?: NodeJS.ProcessEnv;
  config?: PipelineConfig;
  store?: ObjectStore;
  bus?: EventBus;
  log?: Logger;
}

/**
 * Whether the job runs as a Vertex AI custom job (Vertex sets CLOUD_ML_JOB_ID). Vertex restarts a worker that exits
 * non-zero, up to 5 times, then retries the job: a failure the job has reported itself (job.failed) must end with
 * exit 0 there, so the pipeline's own retry (budgets.jobAttempts) is the only one (docs/adr/0008).
 */
export function onVertex(env: NodeJS.ProcessEnv): boolean {
  return (env.CLOUD_ML_JOB_ID ?? "") !== "";
}

/**
 * Exit codes: 0 done, 1 unexpected (retryable), 2 bad arguments, 3 non-retryable failure. On Vertex a failure whose
 * job.failed was published exits 0 instead (see onVertex); one that could not be reported keeps its code.
 */
export async function runJob<S extends JobStep>(
  step: S,
  argv: readonly string[],
  body: (ctx: JobContext<S>) => Promise<void>,
  deps: JobDeps = {},
): Promise<number> {
  const env = deps.env ?? process.env;
  const baseLog = deps.log ?? new JsonLogger({ labels: { component: `job:${step}` } });
  let config: PipelineConfig;
  let input: Extract<JobInput, { step: S }>;
  try {
    config = deps.config ?? loadConfig({ env });
    input = argsToInput(step, argv) as Extract<JobInput, { step: S }>;
    // The arguments place every location in one run folder; it must be in the bucket this job is configured for.
    const own = runDir(config.runtime.bucket, input.runId);
    if (input.runDir !== own)
      throw new JobArgumentError(
        `${step}: --run-dir ${input.runDir} is not this pipeline's run folder ${own}`,
      );
  } catch (err) {
    baseLog.error(`job ${step} cannot start: ${(err as Error).message}`);
    return 2;
  }
  const log = baseLog.child({
    runId: input.runId,
    step,
    attempt: input.attempt,
    ...(env.CLOUD_ML_JOB_ID ? { vertexJobId: env.CLOUD_ML_JOB_ID } : {}),
  });
  const store = deps.store ?? createObjectStore(config);
  const bus = deps.bus ?? createJobEventBus(config, env);
  const fields = { runId: input.runId, attempt: input.attempt, correlationId: input.correlationId };
  const ctx: JobContext<S> = {
    input,
    config,
    store,
    bus,
    log,
    emit: async (type, data) => {
      await bus.publish(makeEvent(type, fields, data));
    },
    progress: async (unit, current, total, message) => {
      const data: EventData<"job.progress"> = { step, unit, current, total };
      if (message !== undefined) data.message = message.slice(0, 500);
      await bus.publish(makeEvent("job.progress", fields, data));
    },
  };
  // The pipeline's name for the job; Vertex's numeric CLOUD_ML_JOB_ID goes into the log labels instead.
  const jobName = makeJobName(input.runId, step, input.attempt);
  try {
    log.info(`job ${step} started`, { outDir: input.outDir });
    await body(ctx);
    log.info(`job ${step} finished`);
    return 0;
  } catch (err) {
    const retryable = !(err instanceof NonRetryableJobError || err instanceof JobArgumentError);
    const code = retryable ? 1 : 3;
    log.error(`job ${step} failed: ${(err as Error).message}`, { retryable, error: err });
    // Locally the launcher reads the exit code; on Vertex only the event tells the pipeline, so every failure is
    // reported there (retryable ones too: a non-zero exit would make Vertex re-run the job behind the pipeline's back).
    if (!retryable || onVertex(env)) {
      const reported = await ctx
        .emit("job.failed", {
          step,
          jobName,
          error: (err as Error).message.slice(0, 4000),
          retryable,
          exitCode: code,
        })
        .then(
          () => true,
          (e: unknown) => {
            log.error(`could not publish job.failed: ${(e as Error).message}`);
            return false;
          },
        );
      if (reported && onVertex(env)) {
        log.info(
          `job ${step} exits 0 on Vertex AI: its failure is reported, the pipeline decides on a retry`,
        );
        return 0;
      }
    }
    return code;
  }
}
