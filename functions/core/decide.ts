// The decision core: a pure function from (run state, event, config) to the new state and the effects to carry out.
import type { PipelineConfig } from "../../schemas/config.ts";
import type { PendingEffect, RunState } from "../../schemas/run-state.ts";
import { jobName, type JobStep, type Step } from "../../schemas/names.ts";
import type { EventData, EventOf, Outcome, PipelineEvent, RetriggerReason } from "../../events/catalogue.ts";
import type { MitigationPlan } from "../../schemas/mitigation.ts";
import type { HyperParams } from "../../schemas/hyperparams.ts";
import { modelLineOf } from "../../schemas/model-line.ts";
import { missingPrerequisite } from "./step-prerequisites.ts";
import { foreignArtifact } from "./artifact-check.ts";
import { blockingFindings, judgeSlices, mitigationPlan } from "../../schemas/bias-rule.ts";
import { coverageHeadline, coverageReason, sliceCoverage } from "../../schemas/slice-coverage.ts";
import { countOf } from "../../schemas/text.ts";
import { derivedEventId, emptyStep, initialState, stepsAfter } from "./run-state.ts";

export type Decision =
  /** The state changed; `effects` were appended to its outbox. */
  | { kind: "applied"; state: RunState; effects: PendingEffect[]; summary: string }
  /** Nothing changed: a duplicate, a stale attempt, an event the run does not wait for. */
  | { kind: "ignored"; reason: string }
  /** A request that cannot be honoured (unknown run, missing prerequisite, budget spent): logged, nothing changed. */
  | { kind: "rejected"; reason: string };

const COMPLETION_STEP = {
  "data.prepared": "prepare",
  "tuning.completed": "tune",
  "training.completed": "train",
  "evaluation.completed": "evaluate",
} as const satisfies Partial<Record<PipelineEvent["type"], JobStep>>;

/** Applies one event to a run. Pure: no I/O, no clock (times come from the event). */
export function decide(current: RunState | null, event: PipelineEvent, config: PipelineConfig): Decision {
  if (current === null) {
    if (event.type === "run.started") {
      const draft = new Draft(initialState(event), event);
      draft.launch(
        "prepare",
        `run started from ${event.data.input}${event.data.modelLine ? ` for model line ${event.data.modelLine} (the upload's model-line metadata)` : ""}`,
      );
      return draft.done();
    }
    if (event.type === "retrigger.requested")
      return { kind: "rejected", reason: `unknown run ${event.runId}` };
    return { kind: "ignored", reason: `unknown run ${event.runId}` };
  }
  if (current.seenEventIds.includes(event.id))
    return { kind: "ignored", reason: `duplicate event ${event.id}` };

  switch (event.type) {
    case "run.started":
      return { kind: "ignored", reason: "run already started" };
    case "data.prepared":
    case "tuning.completed":
    case "training.completed":
    case "evaluation.completed": {
      const step = COMPLETION_STEP[event.type];
      const stale = staleness(current, step, event.attempt);
      if (stale) return { kind: "ignored", reason: stale };
      const foreign = foreignArtifact(event, config.runtime.bucket, current);
      if (foreign) return { kind: "rejected", reason: foreign };
      return onCompletion(current, event, config);
    }
    case "model.registered": {
      const stale = staleness(current, "register", event.attempt);
      if (stale) return { kind: "ignored", reason: stale };
      const foreign = foreignArtifact(event, config.runtime.bucket, current);
      if (foreign) return { kind: "rejected", reason: foreign };
      const draft = new Draft(current, event);
      draft.succeed("register");
      draft.state.artifacts.registration = {
        modelResource: event.data.modelResource,
        version: event.data.version,
        alias: event.data.alias,
      };
      const line = event.data.modelLine ? ` of line ${event.data.modelLine}` : "";
      const previous = event.data.previousChampion;
      const movedBack =
        event.data.alreadyRegistered && previous && previous !== event.data.version
          ? `; the ${event.data.alias} alias moves back to it from version ${previous}`
          : "";
      draft.complete(
        "promoted",
        event.data.alreadyRegistered
          ? `already registered as version ${event.data.version}${line}: no new version made (${event.data.alias})${movedBack}`
          : `registered as version ${event.data.version}${line} (${event.data.alias})`,
      );
      return draft.done();
    }
    case "job.failed":
      return onJobFailed(current, event, config);
    case "retrigger.requested":
      return onRetrigger(current, event, config);
    case "run.retriggered":
    case "run.completed":
    case "job.progress":
      return { kind: "ignored", reason: `${event.type} is not an input of the decision core` };
  }
}

/** Why an event of `step` at `attempt` is stale, or null when the run is waiting for exactly it. */
function staleness(state: RunState, step: Step, attempt: number): string | null {
  if (state.status === "completed") return `run already completed (${state.outcome})`;
  const s = state.steps[step];
  if (s.attempt !== attempt) return `${step} attempt ${attempt} is not the current attempt ${s.attempt}`;
  if (s.status !== "running") return `${step} attempt ${attempt} is ${s.status}, not running`;
  return null;
}

function onCompletion(
  current: RunState,
  event: EventOf<"data.prepared" | "tuning.completed" | "training.completed" | "evaluation.completed">,
  config: PipelineConfig,
): Decision {
  const draft = new Draft(current, event);
  const a = draft.state.artifacts;
  switch (event.type) {
    case "data.prepared":
      draft.succeed("prepare");
      a.prepared = {
        dataDir: event.data.dataDir,
        statsUri: event.data.statsUri,
        rowsKept: event.data.rowsKept,
        rowsRejected: event.data.rowsRejected,
        fingerprint: event.data.fingerprint,
      };
      draft.launch("tune", `prepared ${event.data.rowsKept} rows (${event.data.rowsRejected} rejected)`);
      return draft.done();
    case "tuning.completed": {
      draft.succeed("tune");
      a.tuning = {
        outDir: event.data.outDir,
        bestParams: event.data.bestParams,
        bestValue: event.data.bestValue,
        trials: event.data.trials,
      };
      const from = draft.state.retuneFrom;
      draft.state.retuneFrom = null;
      const same = from !== null && from !== undefined && sameParams(from.params, event.data.bestParams);
      // A search that starts afresh (a Vertex tuning job) rarely meets the very same values again: its best trial is
      // no better either when it scores no higher on validation than the model already trained.
      const noHigher =
        !same &&
        from?.validationWeightedF1 !== undefined &&
        event.data.bestValue <= from.validationWeightedF1;
      if (from && (same || noHigher)) {
        const found = same
          ? `retune searched ${countOf(event.data.trials, "trial")} and found no better parameters than the ones already trained (${describeParams(from.params)}, best validation weighted F1 ${fmt(event.data.bestValue)})`
          : `retune searched ${countOf(event.data.trials, "trial")} and found no better parameters: its best (${describeParams(event.data.bestParams)}) scored validation weighted F1 ${fmt(event.data.bestValue)}, no higher than the ${fmt(from.validationWeightedF1 ?? 0)} of the model already trained`;
        if (!config.training.reseedOnRetune) {
          draft.complete(
            "below_threshold",
            same
              ? `${found}; not re-training the same parameters with the same seed ${from.seed} (training.reseedOnRetune is off)`
              : `${found}; not training a model no better than the last (training.reseedOnRetune is off)`,
          );
          return draft.done();
        }
        const seed = config.training.seed + draft.state.budgets.retunesUsed;
        draft.state.trainSeed = seed === from.seed ? seed + 1 : seed;
        draft.launch(
          "train",
          `${found}; ${same ? "re-training them" : "training its best"} with a new seed ${draft.state.trainSeed} (training.reseedOnRetune)`,
        );
        return draft.done();
      }
      draft.state.trainSeed = null;
      draft.launch(
        "train",
        `tuned ${countOf(event.data.trials, "trial")}, best validation weighted F1 ${fmt(event.data.bestValue)}`,
      );
      return draft.done();
    }
    case "training.completed":
      draft.succeed("train");
      // The line the upload named, else the config's, else the trained base model's decides which champion the model is
      // compared with. A line fixed by an earlier training attempt is fixed again: the upload's or config's stays.
      draft.state.modelLine =
        draft.state.uploadModelLine ?? modelLineOf(config, event.data.params.modelFamily);
      a.training = {
        modelDir: event.data.modelDir,
        params: event.data.params,
        validation: event.data.validation,
        mitigation: event.data.mitigation,
      };
      draft.launch(
        "evaluate",
        `trained ${modelName(event.data.params.modelFamily, config)} (model line ${draft.state.modelLine})${event.data.mitigation ? " with mitigation" : ""}, validation weighted F1 ${fmt(event.data.validation.weightedF1)}${servedExport(event.data.quantization)}`,
      );
      return draft.done();
    case "evaluation.completed":
      return onEvaluation(draft, event, config);
  }
}

/** The model a family trained: the config's name for it (families that share one are the same model). */
function modelName(family: keyof PipelineConfig["training"]["models"], config: PipelineConfig): string {
  return config.training.models[family] ?? family;
}

/** Which export serving and evaluation use, and why fp32 when int8 was refused (a parity outcome, not a failure). */
function servedExport(q: EventData<"training.completed">["quantization"]): string {
  if (!q) return "";
  return q.served === "int8" ? "; int8 export served" : `; ${q.reason ?? "fp32 export served"}`;
}

function onEvaluation(
  draft: Draft,
  event: EventOf<"evaluation.completed">,
  config: PipelineConfig,
): Decision {
  const { rules, budgets } = config;
  const s = draft.state;
  const f1 = event.data.overall.weightedF1;
  const findings = judgeSlices(event.data.slices, f1, rules);
  const blocking = blockingFindings(findings, rules);
  const coverage = sliceCoverage(findings, rules.sliceColumns);
  const unjudged = coverageHeadline(coverage);
  draft.succeed("evaluate");
  s.artifacts.evaluation = {
    metricsUri: event.data.metricsUri,
    slicesUri: event.data.slicesUri,
    modelDir: event.data.modelDir,
    overall: event.data.overall,
    biasedSlices: findings.filter((f) => f.biased).map(({ biased: _b, significant: _s, ...slice }) => slice),
    champion: event.data.champion
      ? { modelVersion: event.data.champion.modelVersion, weightedF1: event.data.champion.overall.weightedF1 }
      : null,
    judgedSlices: coverage.judged,
    unjudgedColumns: coverage.unjudged.map((c) => c.column),
  };
  // A bias check that judged nothing of a column is not a pass: the trail says so before any outcome.
  if (unjudged)
    draft.remark(
      "evaluate",
      `bias check: ${unjudged} (${coverageReason(coverage, rules, event.data.testRows)})`,
    );

  if (f1 < rules.f1Min) {
    const why = `weighted F1 ${fmt(f1)} < f1Min ${fmt(rules.f1Min)}`;
    if (s.budgets.retunesUsed < budgets.retune) {
      s.budgets.retunesUsed += 1;
      s.mitigation = null;
      // What the retune has to beat: its search finding these very parameters again is not a reason to train them again.
      const trained = s.artifacts.training;
      s.retuneFrom = trained
        ? {
            params: trained.params,
            seed: s.trainSeed ?? config.training.seed,
            validationWeightedF1: trained.validation.weightedF1,
          }
        : null;
      draft.retrigger("tune", "low_f1", `${why}: retune ${s.budgets.retunesUsed} of ${budgets.retune}`, null);
      return draft.done();
    }
    draft.complete("below_threshold", `${why} and the retune budget (${budgets.retune}) is spent`);
    return draft.done();
  }

  if (blocking.length > 0) {
    const names = blocking
      .map((b) => `${b.column}=${b.value} F1 ${fmt(b.f1)} (${fmt(b.ratio)} of overall)`)
      .join(", ");
    const why = `biased slice${blocking.length > 1 ? "s" : ""} ${names} below ${fmt(rules.sliceF1Ratio)} x overall F1 ${fmt(f1)}`;
    if (s.budgets.mitigationsUsed < budgets.mitigation) {
      const plan = mitigationPlan(blocking, f1, config.mitigation, event.attempt)!;
      s.budgets.mitigationsUsed += 1;
      s.mitigation = plan;
      const weights = plan.slices.map((p) => `${p.column}=${p.value} x${p.weight}`).join(", ");
      draft.retrigger(
        "train",
        "bias",
        `${why}: mitigated re-training ${s.budgets.mitigationsUsed} of ${budgets.mitigation} (weights ${weights})`,
        plan,
      );
      return draft.done();
    }
    draft.complete("blocked_bias", `${why} and the mitigation budget (${budgets.mitigation}) is spent`);
    return draft.done();
  }

  const champion = event.data.champion;
  if (champion && f1 < champion.overall.weightedF1 - rules.championTolerance) {
    draft.complete(
      "not_better",
      `weighted F1 ${fmt(f1)} is below champion ${champion.modelVersion}${s.modelLine ? ` (line ${s.modelLine})` : ""}'s ${fmt(champion.overall.weightedF1)} on the same test split` +
        (rules.championTolerance > 0 ? ` minus tolerance ${fmt(rules.championTolerance)}` : ""),
    );
    return draft.done();
  }

  const line = s.modelLine ? ` of line ${s.modelLine}` : "";
  const vs = champion
    ? `, champion ${champion.modelVersion}${line} had ${fmt(champion.overall.weightedF1)}`
    : `, first of its line${s.modelLine ? ` ${s.modelLine}` : ""} (no champion yet)`;
  const bias =
    coverage.judged === 0
      ? "no slice could be judged for bias"
      : `no biased slice among ${coverage.judged} judged${unjudged ? ` (${unjudged})` : ""}`;
  draft.register(`passed: weighted F1 ${fmt(f1)} >= ${fmt(rules.f1Min)}, ${bias}${vs}`);
  return draft.done();
}

function onJobFailed(current: RunState, event: EventOf<"job.failed">, config: PipelineConfig): Decision {
  const step = event.data.step;
  const stale = staleness(current, step, event.attempt);
  if (stale) return { kind: "ignored", reason: stale };
  const draft = new Draft(current, event);
  const s = draft.state.steps[step];
  s.failuresInRow += 1;
  s.lastError = event.data.error;
  s.status = "failed";
  s.finishedAt = event.time;
  const error = oneLine(event.data.error);
  if (!event.data.retryable) {
    draft.complete("failed", `${step} attempt ${event.attempt} failed and cannot be retried: ${error}`);
  } else if (s.failuresInRow < config.budgets.jobAttempts) {
    draft.launch(
      step,
      `${step} attempt ${event.attempt} failed (${error}); retry ${s.failuresInRow} of ${config.budgets.jobAttempts - 1}`,
    );
  } else {
    draft.complete(
      "failed",
      `${step} failed ${s.failuresInRow} times in a row (last: ${error}); attempts per job: ${config.budgets.jobAttempts}`,
    );
  }
  return draft.done();
}

function onRetrigger(
  current: RunState,
  event: EventOf<"retrigger.requested">,
  config: PipelineConfig,
): Decision {
  const from = event.data.fromStep;
  const used = current.budgets.manualRetriggersUsed;
  if (used >= config.budgets.manualRetriggers) {
    return {
      kind: "rejected",
      reason: `manual retrigger budget (${config.budgets.manualRetriggers}) is spent for run ${current.runId}`,
    };
  }
  const missing =
    from === "register"
      ? current.artifacts.evaluation
        ? null
        : "the run has no evaluated model"
      : missingPrerequisite(current, from);
  if (missing)
    return { kind: "rejected", reason: `cannot restart ${current.runId} from ${from}: ${missing}` };

  const draft = new Draft(current, event);
  const s = draft.state;
  s.budgets.manualRetriggersUsed += 1;
  // A job still running belongs to the attempt this retrigger supersedes: stop it and forget its pending launches.
  for (const st of Object.values(s.steps))
    if (st.status === "running" && st.jobName) draft.cancel(st.jobName);
  s.outbox = s.outbox.filter((e) => e.kind !== "launch" && e.kind !== "register");
  if (from === "prepare" || from === "tune") {
    s.mitigation = null;
    // A manual restart is asked for: it trains whatever the search finds, with the configured seed.
    s.retuneFrom = null;
    s.trainSeed = null;
  }
  s.status = "running";
  s.outcome = null;
  const by = event.data.requestedBy ? ` by ${event.data.requestedBy}` : "";
  draft.retrigger(
    from,
    "manual",
    `manual retrigger from ${from}${by}: ${oneLine(event.data.reason)}`,
    s.mitigation,
  );
  return draft.done();
}

/** A mutable copy of the state that records the trail and the outbox as decisions are taken. */
class Draft {
  readonly state: RunState;
  private readonly effects: PendingEffect[] = [];
  private readonly notes: string[] = [];
  private emitted = 0;

  constructor(
    base: RunState,
    private readonly event: PipelineEvent,
  ) {
    this.state = structuredClone(base);
    this.state.seenEventIds.push(event.id);
    this.state.updatedAt = event.time > this.state.updatedAt ? event.time : this.state.updatedAt;
  }

  private note(step: Step | null, attempt: number, decision: string): void {
    this.notes.push(decision);
    this.state.trail.push({
      at: this.event.time,
      eventId: this.event.id,
      eventType: this.event.type,
      step,
      attempt,
      decision,
    });
  }

  private add(effect: PendingEffect): void {
    this.effects.push(effect);
    this.state.outbox.push(effect);
  }

  private publish(type: "run.retriggered" | "run.completed", data: unknown): void {
    const id = derivedEventId(this.event.id, this.emitted++);
    const event = {
      id,
      type,
      runId: this.state.runId,
      attempt: 1,
      time: this.event.time,
      correlationId: this.state.correlationId,
      causationId: this.event.id,
      data,
    };
    this.add({ kind: "publish", key: `publish:${id}`, event });
  }

  succeed(step: Step): void {
    const s = this.state.steps[step];
    s.status = "succeeded";
    s.failuresInRow = 0;
    s.finishedAt = this.event.time;
    s.lastError = null;
  }

  launch(step: JobStep, why: string): void {
    const s = this.state.steps[step];
    s.attempt += 1;
    s.status = "running";
    s.jobName = jobName(this.state.runId, step, s.attempt);
    s.startedAt = this.event.time;
    s.finishedAt = null;
    this.state.currentStep = step;
    this.add({ kind: "launch", key: `launch:${step}:a${s.attempt}`, step, attempt: s.attempt });
    this.note(step, s.attempt, `${why}; launched ${step} attempt ${s.attempt}`);
  }

  /** A trail entry about the current attempt of a step that launches nothing (a caveat on what was decided). */
  remark(step: Step, why: string): void {
    this.note(step, this.state.steps[step].attempt, why);
  }

  register(why: string): void {
    const s = this.state.steps.register;
    s.attempt += 1;
    s.status = "running";
    s.jobName = null;
    s.startedAt = this.event.time;
    s.finishedAt = null;
    this.state.currentStep = "register";
    this.add({ kind: "register", key: `register:a${s.attempt}`, attempt: s.attempt });
    this.note("register", s.attempt, `${why}; registering`);
  }

  cancel(name: string): void {
    this.add({ kind: "cancel", key: `cancel:${name}`, jobName: name });
  }

  /** Restart from a step: later steps and their artifacts are reset, the step is launched again. */
  retrigger(from: Step, reason: RetriggerReason, why: string, mitigation: MitigationPlan | null): void {
    const a = this.state.artifacts;
    for (const step of [from, ...stepsAfter(from)]) {
      const prev = this.state.steps[step];
      this.state.steps[step] = { ...emptyStep(), attempt: prev.attempt };
    }
    if (from === "prepare") a.prepared = null;
    if (from === "prepare" || from === "tune") a.tuning = null;
    if (from !== "evaluate" && from !== "register") a.training = null;
    if (from !== "register") a.evaluation = null;
    a.registration = null;
    this.publish("run.retriggered", { from, reason, detail: why, mitigation });
    if (from === "register") this.register(why);
    else this.launch(from, why);
  }

  complete(outcome: Outcome, why: string): void {
    this.state.status = "completed";
    this.state.outcome = outcome;
    this.state.currentStep = null;
    this.note(null, 0, `${outcome}: ${why}`);
    this.publish("run.completed", { outcome, reasons: this.state.trail.map((t) => t.decision) });
  }

  done(): Decision {
    return { kind: "applied", state: this.state, effects: this.effects, summary: this.notes.join("; ") };
  }
}

/** Same hyperparameters: the same family and the same values (as the tune job reported them, so exact). */
function sameParams(a: HyperParams, b: HyperParams): boolean {
  return (
    (Object.keys(a) as (keyof HyperParams)[]).every((k) => a[k] === b[k]) &&
    Object.keys(a).length === Object.keys(b).length
  );
}

function describeParams(p: HyperParams): string {
  return `${p.modelFamily}, learning rate ${p.learningRate.toPrecision(3)}, batch ${p.batchSize}, ${p.epochs} epochs, weight decay ${p.weightDecay.toPrecision(3)}, dropout ${p.dropout.toFixed(2)}`;
}

function fmt(x: number): string {
  return x.toFixed(3);
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
