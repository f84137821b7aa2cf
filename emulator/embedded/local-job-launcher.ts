// The job launcher as local processes: one per job name, events forwarded from the job's outbox, failures reported.
import { createHash } from "node:crypto";
import { open, mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";
import { decodeEvent, makeEvent } from "../../events/codec.ts";
import type { EventType, PipelineEvent } from "../../events/catalogue.ts";
import type { EventBus } from "../../platform/ports/event-bus.ts";
import type { JobInfo, JobLauncher, JobState } from "../../platform/ports/job-launcher.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import type { DeadLetterSink } from "../../platform/ports/dead-letters.ts";
import { localCommand, startJobProcess, vertexEnv, type JobProcess } from "./job-process.ts";

const COMPLETION: Record<JobSpec["step"], EventType> = {
  prepare: "data.prepared",
  tune: "tuning.completed",
  train: "training.completed",
  evaluate: "evaluation.completed",
};

export interface LocalJobLauncherOptions {
  config: PipelineConfig;
  bus: EventBus;
  log: Logger;
  /** Where a malformed outbox line is kept. */
  deadLetters: DeadLetterSink;
  /** Where outbox files go; defaults to <localRoot>/outbox. */
  outboxDir?: string;
  /** Replaces the command of an image, e.g. scripted jobs in tests. */
  commandFor?: (spec: JobSpec) => string[];
  /** Each line a job prints; defaults to the logger at DEBUG. */
  onJobLine?: (spec: JobSpec, stream: "stdout" | "stderr", line: string) => void;
  pollMs?: number;
}

interface LocalJob {
  spec: JobSpec;
  jobId: string;
  state: JobState;
  error: string | null;
  process: JobProcess | null;
  done: Promise<void>;
  cancelled: boolean;
}

export class LocalJobLauncher implements JobLauncher {
  private readonly jobs = new Map<string, LocalJob>();
  private readonly outboxDir: string;
  private seq = 0;

  constructor(private readonly options: LocalJobLauncherOptions) {
    this.outboxDir = resolve(options.outboxDir ?? join(options.config.runtime.localRoot, "outbox"));
  }

  launch(spec: JobSpec): Promise<{ jobId: string; created: boolean }> {
    const existing = this.jobs.get(spec.jobName);
    if (existing) return Promise.resolve({ jobId: existing.jobId, created: false });
    const jobId = `local-${process.pid}-${++this.seq}`;
    const job: LocalJob = {
      spec,
      jobId,
      state: "PENDING",
      error: null,
      process: null,
      done: Promise.resolve(),
      cancelled: false,
    };
    this.jobs.set(spec.jobName, job);
    job.done = this.run(job).catch((err: unknown) => {
      this.options.log.error(`local job ${spec.jobName} broke: ${(err as Error).message}`, { error: err });
    });
    return Promise.resolve({ jobId, created: true });
  }

  cancel(jobName: string): Promise<void> {
    const job = this.jobs.get(jobName);
    if (job && (job.state === "RUNNING" || job.state === "PENDING")) {
      job.cancelled = true;
      job.state = "CANCELLING";
      job.process?.kill("SIGTERM");
    }
    return Promise.resolve();
  }

  describe(jobIdOrName: string): Promise<JobInfo | null> {
    const job = this.jobs.get(jobIdOrName) ?? [...this.jobs.values()].find((j) => j.jobId === jobIdOrName);
    if (!job) return Promise.resolve(null);
    return Promise.resolve({
      jobId: job.jobId,
      jobName: job.spec.jobName,
      state: job.state,
      labels: { run_id: job.spec.runId, step: job.spec.step, attempt: String(job.spec.attempt) },
      error: job.error,
    });
  }

  /** Resolves when every job started so far has ended and its events are forwarded. */
  async idle(): Promise<void> {
    let pending: Promise<void>[];
    do {
      pending = [...this.jobs.values()]
        .filter((j) => j.state !== "SUCCEEDED" && j.state !== "FAILED" && j.state !== "CANCELLED")
        .map((j) => j.done);
      await Promise.all(pending);
    } while (pending.length > 0);
  }

  /**
   * Stops every running job (SIGTERM), or those `which` picks, e.g. when the runtime closes or the demo is
   * interrupted. They end CANCELLED, as on Vertex: being stopped is not a failure, so no job.failed is published.
   */
  async stopAll(which: (spec: JobSpec) => boolean = () => true): Promise<void> {
    const stopping = [...this.jobs.values()].filter((j) => which(j.spec));
    for (const job of stopping) {
      if (job.state !== "RUNNING" && job.state !== "PENDING") continue;
      job.cancelled = true;
      job.state = "CANCELLING";
      job.process?.kill("SIGTERM");
    }
    await Promise.all(stopping.map((j) => j.done));
  }

  private async run(job: LocalJob): Promise<void> {
    const { spec } = job;
    const log = this.options.log.child({
      runId: spec.runId,
      step: spec.step,
      attempt: spec.attempt,
      component: "local-launcher",
    });
    await mkdir(this.outboxDir, { recursive: true });
    const outbox = join(this.outboxDir, `${spec.jobName}.jsonl`);
    await rm(outbox, { force: true });
    const command = this.options.commandFor?.(spec) ?? localCommand(this.options.config, spec);
    const onLine = this.options.onJobLine ?? ((_s, stream, line) => log.debug(line, { stream }));
    job.process = startJobProcess({
      command: [...command, ...spec.args],
      env: { ...spec.env, ...vertexEnv(spec, job.jobId), SP_OUTBOX: outbox },
      onLine: (stream, line) => onLine(spec, stream, line),
    });
    job.state = "RUNNING";
    log.info(`started ${spec.jobName} (pid ${job.process.pid})`);

    const forwarder = new OutboxForwarder(outbox, this.options.bus, this.options.deadLetters, log);
    const poll = setInterval(() => void forwarder.pump(), this.options.pollMs ?? 100);
    const { code, signal } = await job.process.exited;
    clearInterval(poll);
    await forwarder.pump();

    const completed = forwarder.types.has(COMPLETION[spec.step]);
    const selfReported = forwarder.types.has("job.failed");
    if (job.cancelled) {
      job.state = "CANCELLED";
      log.info(`cancelled ${spec.jobName}`);
      return;
    }
    if (code === 0 && completed) {
      job.state = "SUCCEEDED";
      log.info(`${spec.jobName} succeeded`);
      return;
    }
    job.state = "FAILED";
    job.error =
      code === 0
        ? `${spec.jobName} exited 0 without publishing ${COMPLETION[spec.step]}`
        : `${spec.jobName} exited with ${signal ? `signal ${signal}` : `code ${code}`}`;
    log.error(job.error);
    if (selfReported) return;
    // Exit codes 2 and 3 mean the job judged the failure permanent (bad arguments, unusable input).
    const retryable = code !== 2 && code !== 3;
    const id = createHash("sha256").update(`${spec.jobName}#exit`).digest("hex").slice(0, 32);
    await this.options.bus.publish(
      makeEvent(
        "job.failed",
        { id, runId: spec.runId, attempt: spec.attempt },
        {
          step: spec.step,
          jobName: spec.jobName,
          error: job.error,
          retryable,
          exitCode: code,
          state: "FAILED",
        },
      ),
    );
  }
}

/** Reads new complete lines from a job's outbox and publishes them; remembers which event types it saw. */
class OutboxForwarder {
  private offset = 0;
  private partial = "";
  private busy: Promise<void> = Promise.resolve();
  readonly types = new Set<EventType>();

  constructor(
    private readonly file: string,
    private readonly bus: EventBus,
    private readonly deadLetters: DeadLetterSink,
    private readonly log: Logger,
  ) {}

  pump(): Promise<void> {
    this.busy = this.busy.then(() => this.read());
    return this.busy;
  }

  private async read(): Promise<void> {
    let handle;
    try {
      handle = await open(this.file, "r");
    } catch {
      return;
    }
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      await handle.read(buf, 0, buf.length, this.offset);
      this.offset = size;
      const text = this.partial + buf.toString("utf8");
      const lines = text.split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        let event: PipelineEvent;
        try {
          event = decodeEvent(line);
        } catch (err) {
          const reason = `malformed event in outbox ${this.file}: ${(err as Error).message}`;
          this.log.error(`${reason}; kept as a dead letter`);
          await this.deadLetters.keep({
            source: "job-outbox",
            messageId: `${Date.now()}`,
            data: Buffer.from(line),
            attributes: {},
            reason,
            receivedAt: new Date().toISOString(),
          });
          continue;
        }
        this.types.add(event.type);
        await this.bus.publish(event);
      }
    } finally {
      await handle.close();
    }
  }
}
