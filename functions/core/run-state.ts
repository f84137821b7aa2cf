// Small pure helpers over the run state document: the initial state and immutable step updates.
import { createHash } from "node:crypto";
import { STEPS, type Step } from "../../schemas/names.ts";
import type { RunState, StepState } from "../../schemas/run-state.ts";
import type { RunStarted } from "../../events/catalogue.ts";

export const STEP_ORDER: readonly Step[] = STEPS;

export function emptyStep(): StepState {
  return {
    status: "pending",
    attempt: 0,
    failuresInRow: 0,
    jobName: null,
    startedAt: null,
    finishedAt: null,
    lastError: null,
  };
}

export function initialState(event: RunStarted): RunState {
  return {
    schemaVersion: 1,
    runId: event.runId,
    correlationId: event.correlationId,
    createdAt: event.time,
    updatedAt: event.time,
    source: event.data.source,
    status: "running",
    outcome: null,
    currentStep: null,
    steps: {
      prepare: emptyStep(),
      tune: emptyStep(),
      train: emptyStep(),
      evaluate: emptyStep(),
      register: emptyStep(),
    },
    budgets: { retunesUsed: 0, mitigationsUsed: 0, manualRetriggersUsed: 0 },
    mitigation: null,
    ...(event.data.modelLine ? { uploadModelLine: event.data.modelLine } : {}),
    artifacts: {
      input: event.data.input,
      prepared: null,
      tuning: null,
      training: null,
      evaluation: null,
      registration: null,
    },
    seenEventIds: [],
    trail: [],
    outbox: [],
  };
}

/** Steps after `step` in pipeline order. */
export function stepsAfter(step: Step): Step[] {
  return STEP_ORDER.slice(STEP_ORDER.indexOf(step) + 1);
}

/** An id for an event the pipeline emits, derived from its cause so a replayed decision emits the same id. */
export function derivedEventId(causeId: string, index: number): string {
  return createHash("sha256").update(`${causeId}#${index}`).digest("hex").slice(0, 32);
}
