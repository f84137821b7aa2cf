// The embedded runtime: functions, bus, bucket, ledger, registry and job launcher in one process, wired like the cloud.
import { readFile } from "node:fs/promises";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";
import type { RunState } from "../../schemas/run-state.ts";
import type { Step } from "../../schemas/names.ts";
import { gcsUri } from "../../schemas/names.ts";
import type { RetriggerRequestBody } from "../../events/codec.ts";
import { topicsConsumedBy, topicsObservedBy, type ObserverName } from "../../events/topics.ts";
import { UPLOADS_PREFIX, finalizeNotification } from "../../events/object-notification.ts";
import { makeAdvanceRun } from "../../functions/advance-run.ts";
import { makeRetriggerRun } from "../../functions/retrigger-run.ts";
import { makeStartRun, deriveRunId } from "../../functions/start-run.ts";
import { makeWatchJobs } from "../../functions/watch-jobs.ts";
import { makeTrackRun } from "../../functions/track-run.ts";
import { makeReportRun } from "../../functions/report-run.ts";
import type { ExperimentTracker } from "../../tracking/experiment-tracker.ts";
import { createExperimentTracker } from "../../tracking/create-tracker.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { createEmbeddedAdapters } from "../../platform/composition-root.ts";
import { systemClock, type Clock } from "../../platform/ports/clock.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import { InProcessEventBus } from "./in-process-event-bus.ts";
import type { LocalDeadLetterSink } from "../../platform/local/local-dead-letters.ts";
import { LocalJobLauncher } from "./local-job-launcher.ts";
import type { LocalModelRegistry } from "../../platform/local/local-model-registry.ts";
import type { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import type { LocalRunLedger } from "../../platform/local/local-run-ledger.ts";
import { LocalEventLog } from "./local-event-log.ts";

/** waitForRun stopped waiting (its timeout, or its signal) before the run finished; the run itself goes on. */
export class WaitStopped extends Error {
  override readonly name = "WaitStopped";
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`stopped waiting for run ${runId}: ${reason}`);
  }
}

export interface EmbeddedRuntimeOptions {
  config: PipelineConfig;
  log?: Logger;
  clock?: Clock;
  /** Replaces a job's command (tests drive the chain with scripted jobs). */
  commandFor?: (spec: JobSpec) => string[];
  onJobLine?: (spec: JobSpec, stream: "stdout" | "stderr", line: string) => void;
  /** The experiment tracker track-run records into; by default MLflow at the config's tracking URI, if any. */
  tracker?: ExperimentTracker | null;
}

export class EmbeddedRuntime {
  readonly config: PipelineConfig;
  readonly log: Logger;
  readonly store: LocalObjectStore;
  readonly bus: InProcessEventBus;
  readonly ledger: LocalRunLedger;
  readonly launcher: LocalJobLauncher;
  readonly registry: LocalModelRegistry;
  readonly deadLetters: LocalDeadLetterSink;
  /** Every event of a run in runs/RUN_ID/events.jsonl, for `sentiment-pipeline watch` in another process. */
  readonly eventLog: LocalEventLog;
  private readonly triggers = new Set<Promise<void>>();

  constructor(options: EmbeddedRuntimeOptions) {
    const config = options.config;
    if (config.runtime.mode !== "embedded")
      throw new Error(`the embedded runtime needs runtime.mode embedded, not ${config.runtime.mode}`);
    this.config = config;
    this.log = options.log ?? new JsonLogger();
    const clock = options.clock ?? systemClock;
    const local = createEmbeddedAdapters(config, this.log);
    this.deadLetters = local.deadLetters;
    this.bus = new InProcessEventBus({
      projectId: config.runtime.projectId,
      topicPrefix: config.runtime.topicPrefix,
      deadLetters: this.deadLetters,
      log: this.log,
    });
    this.store = local.store;
    this.ledger = local.ledger;
    this.registry = local.registry;
    this.launcher = new LocalJobLauncher({
      config,
      bus: this.bus,
      log: this.log,
      deadLetters: this.deadLetters,
      ...(options.commandFor ? { commandFor: options.commandFor } : {}),
      ...(options.onJobLine ? { onJobLine: options.onJobLine } : {}),
    });

    const base = { log: this.log, deadLetters: this.deadLetters, clock };
    const processor = {
      config,
      clock,
      ledger: this.ledger,
      bus: this.bus,
      launcher: this.launcher,
      registry: this.registry,
    };
    const handlers = {
      "advance-run": makeAdvanceRun({ ...base, ...processor }),
      "retrigger-run": makeRetriggerRun({ ...base, ...processor }),
      "watch-jobs": makeWatchJobs({ ...base, bus: this.bus, launcher: this.launcher }),
    } as const;
    for (const fn of Object.keys(handlers) as (keyof typeof handlers)[]) {
      for (const topic of topicsConsumedBy(fn))
        this.bus.subscribe(topic, { name: `${fn}--${topic}`, handler: handlers[fn] });
    }
    // Observers: the per-run event log that `watch` follows (log-run-events in the cloud), MLflow tracking, and
    // the report when a run completes.
    this.eventLog = new LocalEventLog(this.store, this.log);
    this.bus.observe((event) => this.eventLog.append(event));
    const stores = { config, store: this.store, ledger: this.ledger };
    const tracker = options.tracker !== undefined ? options.tracker : createExperimentTracker(config);
    const observers = {
      "track-run": makeTrackRun({ ...base, ...stores, tracker }),
      "report-run": makeReportRun({ ...base, ...stores }),
    } satisfies Partial<Record<ObserverName, unknown>>;
    for (const fn of Object.keys(observers) as (keyof typeof observers)[]) {
      for (const topic of topicsObservedBy(fn))
        this.bus.subscribe(topic, { name: `${fn}--${topic}`, handler: observers[fn] });
    }

    // The bucket's Pub/Sub notification, limited to uploads/ and OBJECT_FINALIZE as deploy sets it up: writes
    // elsewhere in the bucket publish nothing; start-run reads the topic like any consumer.
    const startRun = makeStartRun({ ...base, config, bus: this.bus });
    for (const topic of topicsConsumedBy("start-run"))
      this.bus.subscribe(topic, { name: `start-run--${topic}`, handler: startRun });
    this.store.onFinalize((stat) => {
      const name = stat.uri.slice(`gs://${config.runtime.bucket}/`.length);
      if (!name.startsWith(UPLOADS_PREFIX)) return;
      const message = finalizeNotification({
        bucket: config.runtime.bucket,
        name,
        generation: stat.generation,
        size: stat.size,
        updated: stat.updated,
        ...(stat.metadata ? { metadata: stat.metadata } : {}),
      });
      const p = this.bus
        .publishRaw("uploadNotifications", message)
        .then(() => undefined)
        .catch((err: unknown) =>
          this.log.error(`publishing the notification of ${name} failed: ${(err as Error).message}`, {
            error: err,
          }),
        )
        .finally(() => this.triggers.delete(p));
      this.triggers.add(p);
    });
  }

  /**
   * Uploads a file (or bytes) to uploads/NAME, which starts a run; resolves with the run id the upload derives.
   * `metadata` is the object's custom metadata (`model-line` names the run's model line), carried in the notification.
   */
  async upload(
    source: string | Buffer,
    name: string,
    options: { metadata?: Record<string, string> } = {},
  ): Promise<{ uri: string; runId: string }> {
    const data = typeof source === "string" ? await readFile(source) : source;
    const objectName = `uploads/${name}`;
    const uri = gcsUri(this.config.runtime.bucket, objectName);
    const stat = await this.store.write(uri, data, options.metadata ? { metadata: options.metadata } : {});
    return { uri, runId: deriveRunId(this.config.runtime.bucket, objectName, stat.generation) };
  }

  /** Publishes a retrigger request exactly as a person would on the retrigger topic. */
  async retrigger(runId: string, fromStep: Step, reason: string, requestedBy?: string): Promise<void> {
    const body: RetriggerRequestBody = { runId, fromStep, reason, ...(requestedBy ? { requestedBy } : {}) };
    await this.bus.publishRaw("retriggerRequests", {
      data: Buffer.from(JSON.stringify(body)),
      attributes: {},
    });
    // Once delivered, the run's state shows the restart, so a waitForRun that follows cannot see the old outcome.
    await this.bus.idle();
  }

  async state(runId: string): Promise<RunState | null> {
    return (await this.ledger.get(runId))?.state ?? null;
  }

  /**
   * Waits until the run has an outcome and nothing is in flight for it any more. No limit unless `timeoutMs` is given
   * (a run of real reviews may take hours on a CPU); `signal` stops the wait early. Either rejects with a
   * WaitStopped error and leaves the run as it is: `interrupt` records why the caller stopped.
   */
  async waitForRun(runId: string, timeoutMs?: number, signal?: AbortSignal): Promise<RunState> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      const state = await this.state(runId);
      if (state && state.status === "completed" && state.outbox.length === 0) {
        await this.settle();
        const final = await this.state(runId);
        if (final && final.status === "completed" && final.outbox.length === 0) return final;
      }
      if (signal?.aborted) throw new WaitStopped(runId, String(signal.reason ?? "the wait was stopped"));
      if (Date.now() > deadline)
        throw new WaitStopped(runId, `it did not finish within ${Math.round((timeoutMs ?? 0) / 1000)} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Stops the run's jobs (SIGTERM: trainers end their MLflow runs KILLED; no job.failed, as nothing failed) and
   * records the interruption in its decision trail. The run stays `running` at the step it was in, so
   * `sentiment-pipeline retrigger RUN --from STEP` resumes it (a tune step continues its stored study).
   */
  async interrupt(runId: string, reason: string): Promise<RunState | null> {
    await this.launcher.stopAll((spec) => spec.runId === runId);
    await this.bus.idle();
    for (let tries = 0; tries < 10; tries++) {
      const current = await this.ledger.get(runId);
      if (!current || current.state.status === "completed") return current?.state ?? null;
      const s = structuredClone(current.state);
      const step = s.currentStep;
      const attempt = step ? s.steps[step].attempt : 0;
      const at = new Date().toISOString();
      s.trail.push({
        at,
        eventId: `interrupted-${at}`,
        eventType: "run.interrupted",
        step,
        attempt,
        decision: `interrupted during ${step ?? "the run"}${step ? ` a${attempt}` : ""}: ${reason}; not a job failure. \`sentiment-pipeline retrigger ${runId} --from ${step ?? "prepare"} --reason TEXT\` resumes it`,
      });
      s.updatedAt = at;
      if (await this.ledger.compareAndSwap(s, current.generation)) return s;
    }
    return (await this.state(runId)) ?? null;
  }

  /** Waits until no trigger, delivery or job is in flight. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await Promise.allSettled([...this.triggers]);
      await this.bus.idle();
      await this.launcher.idle();
      await this.bus.idle();
      await this.eventLog.idle();
    }
  }

  async close(): Promise<void> {
    await this.launcher.stopAll();
    await this.bus.idle();
    await this.eventLog.idle();
    this.bus.close();
  }
}
