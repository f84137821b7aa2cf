// Vertex's automated early stopping of tuning trials (StudySpec's median and decay-curve rules), as the stand-in applies them.
import { invalid, type Timestamp } from "./resources.ts";

/** A trial's measurement as the v1 proto has it (study.proto, Measurement). */
export interface Measurement {
  elapsedDuration: { seconds: string; nanos: number } | null;
  stepCount: string;
  metrics: Array<{ metricId: string; value: number }>;
}

export interface StoppingRule {
  kind: "median" | "decayCurve";
  /** The x-axis: Measurement.elapsed_duration when true, else Measurement.step_count. */
  useElapsedDuration: boolean;
}

interface StudySpecInput {
  medianAutomatedStoppingSpec?: { useElapsedDuration?: boolean | null } | null;
  decayCurveStoppingSpec?: { useElapsedDuration?: boolean | null } | null;
  convexAutomatedStoppingSpec?: unknown;
  [key: string]: unknown;
}

/** The study's stopping rule; null when it sets none (Vertex then runs every trial to its end). */
export function stoppingRuleOf(study: StudySpecInput): StoppingRule | null {
  if (study.convexAutomatedStoppingSpec)
    throw invalid(
      "study_spec.convex_automated_stopping_spec is not emulated: the stand-in applies median_automated_stopping_spec and decay_curve_stopping_spec.",
    );
  if (study.medianAutomatedStoppingSpec)
    return {
      kind: "median",
      useElapsedDuration: Boolean(study.medianAutomatedStoppingSpec.useElapsedDuration),
    };
  if (study.decayCurveStoppingSpec)
    return {
      kind: "decayCurve",
      useElapsedDuration: Boolean(study.decayCurveStoppingSpec.useElapsedDuration),
    };
  return null;
}

/** How long a trial had run at `at`, as a proto Duration. */
export function elapsedSince(start: Timestamp, atMs: number): Measurement["elapsedDuration"] {
  const ms = Math.max(0, atMs - (Number(start.seconds) * 1000 + Math.floor(start.nanos / 1e6)));
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function xOf(m: Measurement, rule: StoppingRule): number {
  if (!rule.useElapsedDuration) return Number(m.stepCount);
  return Number(m.elapsedDuration?.seconds ?? 0) + (m.elapsedDuration?.nanos ?? 0) / 1e9;
}

const valueOf = (m: Measurement): number => m.metrics[0]!.value;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Whether a running trial should stop, and why (null: let it run). `completed` are the measurements of the study's
 * SUCCEEDED trials, the "completed Trials" of the rules' documentation (stopped trials end SUCCEEDED too, with the
 * measurements they reported). A decision needs at least one completed trial measured at or before the trial's last
 * measurement: with none, there is nothing to compare it with.
 */
export function stopReason(
  rule: StoppingRule,
  trial: readonly Measurement[],
  completed: ReadonlyArray<readonly Measurement[]>,
  maximise: boolean,
): string | null {
  const last = trial[trial.length - 1];
  if (!last) return null;
  const at = xOf(last, rule);
  const better = (a: number, b: number): boolean => (maximise ? a > b : a < b);
  const bestOf = (ms: readonly Measurement[]): number =>
    ms.map(valueOf).reduce((a, b) => (better(b, a) ? b : a));
  const curves = completed
    .filter((ms) => ms.length > 0)
    .map((all) => ({ all, upTo: all.filter((m) => xOf(m, rule) <= at) }));
  const comparable = curves.filter((c) => c.upTo.length > 0);
  if (comparable.length === 0) return null;
  const best = bestOf(trial);
  const axis = rule.useElapsedDuration ? `${at.toFixed(1)}s` : `step ${at}`;
  if (rule.kind === "median") {
    // StudySpec.MedianAutomatedStoppingSpec: "stops a pending Trial if the Trial's best objective_value is strictly
    // below the median 'performance' of all completed Trials reported up to the Trial's last measurement", where
    // performance is "the running average of the objective values reported by the Trial in each measurement"
    // (https://cloud.google.com/vertex-ai/docs/reference/rest/v1/StudySpec#medianautomatedstoppingspec).
    const performance = comparable.map((c) => c.upTo.map(valueOf).reduce((a, b) => a + b, 0) / c.upTo.length);
    const m = median(performance);
    return better(m, best)
      ? `its best value ${best} is worse than ${m}, the median running average of ${comparable.length} completed trial(s) up to ${axis}`
      : null;
  }
  // StudySpec.DecayCurveAutomatedStoppingSpec: Vizier fits a Gaussian process to the curves and stops a trial with
  // "very low probability to exceed the optimal value found so far". The stand-in fits no model: it stops a trial
  // that cannot reach the best completed value even with the largest gain any completed trial made after this
  // point of its own curve, a conservative stand-in for that probability.
  const optimal = curves.map((c) => bestOf(c.all)).reduce((a, b) => (better(b, a) ? b : a));
  const gain = Math.max(
    ...comparable.map((c) => {
      const then = valueOf(c.upTo[c.upTo.length - 1]!);
      return Math.max(0, maximise ? bestOf(c.all) - then : then - bestOf(c.all));
    }),
  );
  const reach = valueOf(last) + (maximise ? gain : -gain);
  return better(optimal, reach) && better(optimal, best)
    ? `at most ${reach} with the largest later gain of a completed trial (${gain}), short of the best value ${optimal} so far (at ${axis})`
    : null;
}
