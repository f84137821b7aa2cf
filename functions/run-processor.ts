// Applies an event to its run with compare-and-swap, then carries out the run's pending effects (its outbox).
import type { PipelineConfig } from "../schemas/config.ts";
import type { PendingEffect, RunState } from "../schemas/run-state.ts";
import { PipelineEvent } from "../events/catalogue.ts";
import { makeEvent } from "../events/codec.ts";
import { buildJobSpec } from "../gpu-jobs/specs/build-job-spec.ts";
import { decide, type Decision } from "./core/decide.ts";
import { derivedEventId } from "./core/run-state.ts";
import type { EventBus } from "../platform/ports/event-bus.ts";
import type { JobLauncher } from "../platform/ports/job-launcher.ts";
import type { Logger } from "../platform/ports/logger.ts";
import type { ModelRegistry } from "../platform/ports/model-registry.ts";
import type { RunLedger } from "../platform/ports/run-ledger.ts";
import type { Clock } from "../platform/ports/clock.ts";
import { runModelLine } from "../schemas/model-line.ts";

export interface RunProcessorDeps {
  config: PipelineConfig;
  ledger: RunLedger;
  bus: EventBus;
  launcher: JobLauncher;
  registry: ModelRegistry;
  log: Logger;
  clock: Clock;
}

/** Compare-and-swap retries before giving up (the platform then redelivers). */
const MAX_CAS_TRIES = 50;

export async function processEvent(deps: RunProcessorDeps, event: PipelineEvent): Promise<Decision> {
  const log = deps.log.child({ runId: event.runId, eventId: event.id, attempt: event.attempt });
  let decision: Decision | undefined;
  for (let tries = 0; tries < MAX_CAS_TRIES && decision === undefined; tries++) {
    const current = await deps.ledger.get(event.runId);
    const d = decide(current?.state ?? null, event, deps.config);
    if (d.kind !== "applied") {
      decision = d;
      break;
    }
    const saved = current
      ? await deps.ledger.compareAndSwap(d.state, current.generation)
      : await deps.ledger.create(d.state);
    if (saved) decision = d;
    else await backoff(tries);
  }
  if (!decision) throw new Error(`run ${event.runId}: state kept changing under ${MAX_CAS_TRIES} tries`);

  if (decision.kind === "applied") log.info(`${event.type}: ${decision.summary}`, { eventType: event.type });
  else if (decision.kind === "rejected")
    log.error(`${event.type} rejected: ${decision.reason}`, { eventType: event.type });
  else log.info(`${event.type} ignored: ${decision.reason}`, { eventType: event.type });

  // Also after a duplicate: a crash between saving and carrying out effects leaves them here to finish.
  await drainOutbox(deps, event.runId);
  return decision;
}

/**
 * Effects this process is carrying out or has carried out, per ledger. Concurrent deliveries for one run drain the
 * same outbox; this keeps one process from doing an effect twice. (Another process may still repeat one: every
 * effect is idempotent, so that costs a duplicate call, never a second job or version.)
 */
interface EffectGate {
  inFlight: Map<string, Promise<void>>;
  done: Set<string>;
}
const gates = new WeakMap<RunLedger, EffectGate>();
const DONE_REMEMBERED = 10_000;

function gateOf(ledger: RunLedger): EffectGate {
  let gate = gates.get(ledger);
  if (!gate) {
    gate = { inFlight: new Map(), done: new Set() };
    gates.set(ledger, gate);
  }
  return gate;
}

/** Carries out pending effects oldest first; each is idempotent, and is removed from the outbox once done. */
export async function drainOutbox(deps: RunProcessorDeps, runId: string): Promise<void> {
  const gate = gateOf(deps.ledger);
  for (;;) {
    const current = await deps.ledger.get(runId);
    const effect = current?.state.outbox[0];
    if (!current || !effect) return;
    const id = `${runId}|${effect.key}`;
    if (!gate.done.has(id)) {
      let running = gate.inFlight.get(id);
      if (!running) {
        running = execute(deps, current.state, effect)
          .then(() => {
            gate.done.add(id);
            if (gate.done.size > DONE_REMEMBERED) gate.done.delete(gate.done.values().next().value!);
          })
          .finally(() => gate.inFlight.delete(id));
        gate.inFlight.set(id, running);
      }
      await running;
    }
    await updateState(deps.ledger, runId, (s) => ({
      ...s,
      outbox: s.outbox.filter((e) => e.key !== effect.key),
    }));
  }
}

async function execute(deps: RunProcessorDeps, state: RunState, effect: PendingEffect): Promise<void> {
  const log = deps.log.child({ runId: state.runId });
  switch (effect.kind) {
    case "launch": {
      const spec = buildJobSpec(deps.config, state, effect.step, effect.attempt);
      const { jobId, created } = await deps.launcher.launch(spec);
      log.info(`${created ? "launched" : "already running:"} ${spec.jobName}`, {
        step: effect.step,
        attempt: effect.attempt,
        jobId,
      });
      return;
    }
    case "cancel":
      await deps.launcher.cancel(effect.jobName);
      log.info(`cancelled ${effect.jobName}`);
      return;
    case "publish": {
      const event = PipelineEvent.parse(effect.event);
      await deps.bus.publish(event);
      return;
    }
    case "register": {
      const evaluation = state.artifacts.evaluation;
      if (!evaluation) throw new Error(`run ${state.runId}: register without an evaluated model`);
      const training = state.artifacts.training;
      const line = training
        ? runModelLine(deps.config, state, training.params.modelFamily)
        : (state.modelLine ?? null);
      if (!line) throw new Error(`run ${state.runId}: register without a model line`);
      // Which version held the alias before, so that the trail can say when an earlier version takes it back.
      const before = await deps.registry.getChampion(line);
      const version = await deps.registry.registerChampion({
        runId: state.runId,
        line,
        attempt: effect.attempt,
        artifactUri: evaluation.modelDir,
        metrics: evaluation.overall,
        labels: { run_id: state.runId, attempt: String(effect.attempt) },
      });
      log.info(
        version.created
          ? `registered ${version.modelResource} version ${version.version} (line ${line})`
          : `already registered: ${version.modelResource} version ${version.version} (line ${line}) holds this run's model, no new version made`,
        { step: "register", attempt: effect.attempt, modelLine: line, created: version.created },
      );
      await deps.bus.publish(
        makeEvent(
          "model.registered",
          {
            id: derivedEventId(`${state.runId}:${effect.key}`, 0),
            runId: state.runId,
            attempt: effect.attempt,
            correlationId: state.correlationId,
            time: deps.clock.now().toISOString(),
          },
          {
            modelResource: version.modelResource,
            version: version.version,
            alias: "champion",
            artifactUri: version.artifactUri,
            modelLine: line,
            alreadyRegistered: !version.created,
            previousChampion: before?.version ?? null,
          },
        ),
      );
      return;
    }
  }
}

/** Read-modify-write of a run's state with compare-and-swap retries. */
export async function updateState(
  ledger: RunLedger,
  runId: string,
  change: (s: RunState) => RunState,
): Promise<void> {
  for (let tries = 0; tries < MAX_CAS_TRIES; tries++) {
    const current = await ledger.get(runId);
    if (!current) return;
    if (await ledger.compareAndSwap(change(current.state), current.generation)) return;
    await backoff(tries);
  }
  throw new Error(`run ${runId}: state kept changing under ${MAX_CAS_TRIES} tries`);
}

function backoff(tries: number): Promise<void> {
  const ms = Math.min(200, 2 ** Math.min(tries, 7)) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}
