// The Vertex AI HyperparameterTuningJob of a tune step (v1 API) and what its finished trials say, as pure functions.
import type { protos } from "@google-cloud/aiplatform";
import type { SearchSpace, HyperParams } from "../../schemas/hyperparams.ts";
import type { TuneJobInput } from "../../schemas/job-input.ts";

type HptJob = protos.google.cloud.aiplatform.v1.IHyperparameterTuningJob;
type StudySpec = protos.google.cloud.aiplatform.v1.IStudySpec;
type ParameterSpec = protos.google.cloud.aiplatform.v1.StudySpec.IParameterSpec;
type CustomJobSpec = protos.google.cloud.aiplatform.v1.ICustomJobSpec;
type Trial = protos.google.cloud.aiplatform.v1.ITrial;

/** The metric every trial reports through the hypertune file (sentiment_trainer/hypertune.py writes the same tag). */
export const METRIC_ID = "validation_weighted_f1";

/** The trainer's trial entry point: the tune job's arguments follow it, then Vertex's `--name=value` parameters. */
export const TRIAL_COMMAND = "trial";

/** Families that name the same model are one choice (as in tune.py's distinct_families). */
export function distinctFamilies(search: SearchSpace, models: Record<string, string>): string[] {
  const seen = new Map<string, string>();
  for (const family of search.modelFamilies)
    if (!seen.has(models[family] ?? family)) seen.set(models[family] ?? family, family);
  return [...seen.values()];
}

function doubleSpec(id: string, r: { low: number; high: number; log: boolean }): ParameterSpec {
  // Vertex needs min < max for a range; a fixed value is a one-value discrete parameter.
  if (r.low === r.high) return { parameterId: id, discreteValueSpec: { values: [r.low] } };
  return {
    parameterId: id,
    doubleValueSpec: { minValue: r.low, maxValue: r.high },
    // Log scale needs a positive minimum (Optuna's rule too: tune.py uses log only when low > 0).
    scaleType: r.log && r.low > 0 ? "UNIT_LOG_SCALE" : "UNIT_LINEAR_SCALE",
  };
}

/** The study: maximise validation weighted F1 over the config's search space, the best measurement of each trial. */
export function studySpecOf(search: SearchSpace, models: Record<string, string>): StudySpec {
  const epochs: ParameterSpec =
    search.epochs.low === search.epochs.high
      ? { parameterId: "epochs", discreteValueSpec: { values: [search.epochs.low] } }
      : {
          parameterId: "epochs",
          integerValueSpec: { minValue: search.epochs.low, maxValue: search.epochs.high },
          scaleType: "UNIT_LINEAR_SCALE",
        };
  const spec: StudySpec = {
    metrics: [{ metricId: METRIC_ID, goal: "MAXIMIZE" }],
    parameters: [
      { parameterId: "model_family", categoricalValueSpec: { values: distinctFamilies(search, models) } },
      doubleSpec("learning_rate", search.learningRate),
      {
        parameterId: "batch_size",
        discreteValueSpec: { values: [...new Set(search.batchSizes)].sort((a, b) => a - b) },
        scaleType: "UNIT_LINEAR_SCALE",
      },
      epochs,
      doubleSpec("weight_decay", search.weightDecay),
      doubleSpec("dropout", search.dropout),
    ],
    // Unspecified is Vertex's default: Bayesian optimisation (Vizier).
    algorithm: "ALGORITHM_UNSPECIFIED",
    // A trial keeps its best validation checkpoint, so its best measurement is its result (Optuna's objective too).
    measurementSelectionType: "BEST_MEASUREMENT",
  };
  if (search.earlyStopping === "median") spec.medianAutomatedStoppingSpec = { useElapsedDuration: false };
  if (search.earlyStopping === "decayCurve") spec.decayCurveStoppingSpec = { useElapsedDuration: false };
  return spec;
}

/** At most half the trials may fail before Vertex fails the job (0 would let Vertex decide). */
export function maxFailedTrials(trials: number): number {
  return Math.max(1, Math.ceil(trials / 2));
}

/**
 * The tuning job of a tune attempt: display name = the attempt's job name, the run's labels, trials running the
 * trainer image's trial entry point (trialJobSpec: the custom job spec of one trial, see customJobOf).
 */
export function tuningJobOf(
  input: TuneJobInput,
  displayName: string,
  trialJobSpec: CustomJobSpec,
  labels: Record<string, string>,
): HptJob {
  const search = input.search;
  return {
    displayName,
    labels: { ...labels },
    studySpec: studySpecOf(search, input.models),
    maxTrialCount: search.trials,
    parallelTrialCount: Math.min(search.parallelTrials, search.trials),
    maxFailedTrialCount: maxFailedTrials(search.trials),
    trialJobSpec,
  };
}

/** The trial's arguments: the tune job's own (same input, same folders), behind the trial entry point. */
export function trialArgs(tuneArgs: readonly string[]): string[] {
  if (tuneArgs[0] !== "tune")
    throw new Error(`a trial is built from tune arguments, got ${tuneArgs[0] ?? "none"}`);
  return [TRIAL_COMMAND, ...tuneArgs.slice(1)];
}

function valueOf(v: protos.google.protobuf.IValue | null | undefined): string | number | undefined {
  if (!v) return undefined;
  if (v.numberValue !== undefined && v.numberValue !== null) return Number(v.numberValue);
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  return undefined;
}

/** A trial's parameters as the pipeline's hyperparameters; null when one is missing or malformed. */
export function paramsOfTrial(trial: Trial): HyperParams | null {
  const p = new Map((trial.parameters ?? []).map((x) => [x.parameterId ?? "", valueOf(x.value as never)]));
  const family = p.get("model_family");
  const num = (k: string): number => Number(p.get(k));
  const params = {
    modelFamily: family,
    learningRate: num("learning_rate"),
    batchSize: Math.round(num("batch_size")),
    epochs: Math.round(num("epochs")),
    weightDecay: num("weight_decay"),
    dropout: num("dropout"),
  };
  if (family !== "bert" && family !== "roberta") return null;
  if (
    ![params.learningRate, params.batchSize, params.epochs, params.weightDecay, params.dropout].every(
      Number.isFinite,
    )
  )
    return null;
  return params as HyperParams;
}

/** A trial's final value of the metric; null when it has none. */
export function finalValue(trial: Trial): number | null {
  const m = (trial.finalMeasurement?.metrics ?? []).find((x) => x.metricId === METRIC_ID);
  const v = m?.value;
  return v === undefined || v === null || !Number.isFinite(Number(v)) ? null : Number(v);
}

export interface TrialOutcome {
  id: string;
  state: string;
  value: number | null;
  params: HyperParams | null;
  /** Stopped by automated early stopping (or the study) before its last epoch: Optuna's "pruned". */
  stopped: boolean;
}

/**
 * Vertex's automated early stopping ends a trial before its last epoch; the trial's process is stopped (SIGTERM) and
 * says so in its summary (trials/ID/trial.json `stopped`), which the caller passes as stoppedIds. A trial still in
 * STOPPING when the job ends was stopped too.
 */
export function outcomeOf(trial: Trial, stoppedIds: ReadonlySet<string> = new Set()): TrialOutcome {
  const id = String(trial.id ?? "");
  const state = String(trial.state ?? "STATE_UNSPECIFIED");
  return {
    id,
    state,
    value: finalValue(trial),
    params: paramsOfTrial(trial),
    stopped: state === "STOPPING" || stoppedIds.has(id),
  };
}

export interface TuningSummary {
  trials: number;
  completedTrials: number;
  prunedTrials: number;
  failedTrials: number;
  best: TrialOutcome & { value: number; params: HyperParams };
  outcomes: TrialOutcome[];
}

/**
 * What tuning.completed says of a finished tuning job: trials that ended (succeeded or stopped early), completed ones,
 * stopped ones (Optuna's pruned), and the best trial by final measurement. Throws when no trial has a result.
 */
export function summariseTrials(
  trials: readonly Trial[],
  stoppedIds: ReadonlySet<string> = new Set(),
): TuningSummary {
  const outcomes = trials.map((t) => outcomeOf(t, stoppedIds));
  const ended = outcomes.filter((o) => o.state === "SUCCEEDED" || o.state === "STOPPING");
  const scored = ended.filter(
    (o): o is TrialOutcome & { value: number; params: HyperParams } => o.value !== null && o.params !== null,
  );
  if (scored.length === 0)
    throw new Error(`no tuning trial reported ${METRIC_ID} (of ${trials.length}): nothing to choose from`);
  // Ties go to the earlier trial, as Optuna's best_trial does.
  const best = scored.reduce((a, b) => (b.value > a.value ? b : a));
  return {
    trials: ended.length,
    completedTrials: ended.filter((o) => !o.stopped).length,
    prunedTrials: ended.filter((o) => o.stopped).length,
    failedTrials: outcomes.filter((o) => o.state === "INFEASIBLE").length,
    best,
    outcomes,
  };
}
