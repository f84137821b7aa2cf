// What `watch` shows of a run, folded from its state document and its events: pure, so it renders and tests alike.
import { STEPS, type Step } from "../../schemas/names.ts";
import type { RunState, StepStatus } from "../../schemas/run-state.ts";
import type { EventOf, Outcome, PipelineEvent } from "../../events/catalogue.ts";
import { runDurations, type RunDurations } from "../../functions/core/run-durations.ts";
import { countOf } from "../../schemas/text.ts";

export interface Progress {
  unit: EventOf<"job.progress">["data"]["unit"];
  current: number;
  total: number | null;
  message: string | null;
  /** The best validation weighted F1 seen so far (trials), or the latest (epochs). */
  score: number | null;
  scoreLabel: string | null;
  /** When the job expects its work done (epoch ms): the event's time plus its estimate of the seconds left. */
  etaAt: number | null;
}

export interface StepView {
  step: Step;
  status: StepStatus;
  attempt: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** Progress of the current attempt, from job.progress events. */
  progress: Progress | null;
  /** One line on what the step produced, from its completion event. */
  summary: string | null;
  error: string | null;
}

export interface RunView {
  runId: string;
  known: boolean;
  status: "waiting" | "running" | "completed";
  outcome: Outcome | null;
  input: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  /** The outbox is empty: nothing the run decided is still to be carried out. */
  settled: boolean;
  steps: StepView[];
  /** The decision trail, oldest first. */
  trail: string[];
  /** Time the run worked and time it sat completed before a retrigger (from the state's trail); null before it is read. */
  durations: RunDurations | null;
  events: number;
}

export function emptyView(runId: string): RunView {
  return {
    runId,
    known: false,
    status: "waiting",
    outcome: null,
    input: null,
    createdAt: null,
    updatedAt: null,
    settled: false,
    steps: STEPS.map((step) => ({
      step,
      status: "pending",
      attempt: 0,
      startedAt: null,
      finishedAt: null,
      progress: null,
      summary: null,
      error: null,
    })),
    trail: [],
    durations: null,
    events: 0,
  };
}

/** The state document is the truth about statuses, attempts and times; progress and summaries come from events. */
export function withState(view: RunView, state: RunState): RunView {
  return {
    ...view,
    known: true,
    status: state.status,
    outcome: state.outcome,
    input: state.artifacts.input,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    settled: state.outbox.length === 0,
    trail: state.trail.map((t) => t.decision),
    durations: runDurations(state, new Date()),
    steps: view.steps.map((s) => {
      const d = state.steps[s.step];
      // A new attempt's progress starts from nothing.
      const progress = d.attempt === s.attempt ? s.progress : null;
      return {
        ...s,
        status: d.status,
        attempt: d.attempt,
        startedAt: d.startedAt,
        finishedAt: d.finishedAt,
        progress: d.status === "running" || d.status === "succeeded" ? progress : null,
        summary: d.status === "succeeded" ? s.summary : d.status === "pending" ? null : s.summary,
        error: d.lastError,
      };
    }),
  };
}

export function withEvent(view: RunView, event: PipelineEvent): RunView {
  const next = { ...view, events: view.events + 1 };
  const update = (step: Step, change: (s: StepView) => StepView): RunView => ({
    ...next,
    steps: next.steps.map((s) => (s.step === step ? change(s) : s)),
  });
  switch (event.type) {
    case "job.progress": {
      const d = event.data;
      return update(d.step, (s) => {
        // Progress of another attempt than the one the view follows is stale (or the state has not caught up).
        if (s.attempt !== 0 && event.attempt < s.attempt) return s;
        const prev = s.attempt === event.attempt ? s.progress : null;
        const reported = d.metrics?.weightedF1 ?? null;
        const score =
          d.unit === "trial"
            ? reported === null
              ? (prev?.score ?? null)
              : Math.max(reported, prev?.score ?? -Infinity)
            : (reported ?? prev?.score ?? null);
        return {
          ...s,
          attempt: Math.max(s.attempt, event.attempt),
          status: s.status === "pending" || event.attempt > s.attempt ? "running" : s.status,
          progress: {
            unit: d.unit,
            current: d.current,
            total: d.total,
            message: d.message ?? null,
            score,
            // A batch report carries no score: it keeps the one before it, and what that one meant.
            scoreLabel:
              score === null
                ? null
                : d.unit === "trial"
                  ? "best F1"
                  : d.unit === "batch" && prev?.scoreLabel
                    ? prev.scoreLabel
                    : "val F1",
            etaAt:
              d.etaSeconds !== undefined
                ? Date.parse(event.time) + d.etaSeconds * 1000
                : d.unit === "batch"
                  ? (prev?.etaAt ?? null)
                  : null,
          },
        };
      });
    }
    case "data.prepared":
      return update("prepare", (s) => ({
        ...done(s, event.attempt),
        summary: `${event.data.rowsKept} rows kept of ${event.data.rowsRead} (${event.data.rowsRejected} rejected)`,
      }));
    case "tuning.completed":
      return update("tune", (s) => ({
        ...done(s, event.attempt),
        summary: `${countOf(event.data.trials, "trial")}, best F1 ${event.data.bestValue.toFixed(3)} (${event.data.baseModel ?? event.data.bestParams.modelFamily})`,
      }));
    case "training.completed":
      return update("train", (s) => ({
        ...done(s, event.attempt),
        summary: `val F1 ${event.data.validation.weightedF1.toFixed(3)} after ${event.data.epochsRun} epochs${event.data.mitigation ? ", mitigated" : ""}`,
      }));
    case "evaluation.completed":
      return update("evaluate", (s) => ({
        ...done(s, event.attempt),
        summary: `test F1 ${event.data.overall.weightedF1.toFixed(3)} on ${event.data.testRows} rows${event.data.champion ? `, champion ${event.data.champion.overall.weightedF1.toFixed(3)}` : ""}`,
      }));
    case "model.registered":
      return update("register", (s) => ({
        ...done(s, event.attempt),
        summary: `version ${event.data.version} is ${event.data.alias}`,
      }));
    case "job.failed":
      return update(event.data.step, (s) =>
        event.attempt < s.attempt
          ? s
          : { ...s, status: "failed", attempt: event.attempt, error: event.data.error },
      );
    case "run.retriggered": {
      // The restarted step and those after it start over (the state document, when read, says the same).
      const from = STEPS.indexOf(event.data.from);
      return {
        ...next,
        status: "running",
        outcome: null,
        steps: next.steps.map((s) =>
          STEPS.indexOf(s.step) >= from ? { ...s, status: "pending", progress: null, summary: null } : s,
        ),
      };
    }
    case "run.completed":
      return { ...next, status: "completed", outcome: event.data.outcome, trail: event.data.reasons };
    default:
      return next;
  }
}

/** A completion event: the step's attempt succeeded (the state document, when read, has the last word). */
function done(s: StepView, attempt: number): StepView {
  if (attempt < s.attempt) return s;
  return { ...s, status: "succeeded", attempt, progress: attempt === s.attempt ? s.progress : null };
}

/** Done following: the run has an outcome and nothing it decided is left to carry out. */
export function isFinished(view: RunView): boolean {
  return view.status === "completed" && view.settled;
}
