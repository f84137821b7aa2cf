// Names in MLflow, a contract the trainer shares: one experiment per model line, a parent run per pipeline run, and
// metric keys MLflow accepts.
import { configuredModelLine, modelLineOf } from "./model-line.ts";
import type { PipelineConfig } from "./config.ts";

/** The experiment of a model line: every run of a line's models, whichever upload they came from. */
export function experimentName(line: string): string {
  return `sentiment-pipeline/${line}`;
}

/** What the tracking line of a pipeline run depends on: its state's lines, when there is a state. */
export interface RunLines {
  /** The line fixed when training completed (the trained family's). */
  modelLine?: string | null | undefined;
  /** The line the upload named (`model-line` metadata). */
  uploadModelLine?: string | null | undefined;
}

/**
 * The line a pipeline run's own records (its parent run, outcome and evaluations) are kept under: the line its model
 * joined once training completed, else the line its upload named, else the line of the search's first family (as
 * `MODEL_URI=champion` serves). A search across base models may leave trials under another family's line: see
 * `familyExperiments`.
 */
export function runTrackingLine(config: PipelineConfig, run: RunLines = {}): string {
  return run.modelLine ?? run.uploadModelLine ?? configuredModelLine(config);
}

/** The experiment of a pipeline run's own records (`runTrackingLine`). */
export function runExperimentName(config: PipelineConfig, run: RunLines = {}): string {
  return experimentName(runTrackingLine(config, run));
}

/**
 * Each model family's experiment, for the trainer (SP_MLFLOW_EXPERIMENTS): a trial or a training run is kept in the
 * experiment of the line its model would join, so that one experiment holds one line's models. The upload's line, when
 * it names one, holds every family's.
 */
export function familyExperiments(
  config: PipelineConfig,
  uploadModelLine?: string | null,
): Record<string, string> {
  const families = [...new Set([...config.search.modelFamilies, ...Object.keys(config.training.models)])];
  return Object.fromEntries(
    families.map((f) => [f, experimentName(uploadModelLine ?? modelLineOf(config, f))]),
  );
}

/** Every experiment a pipeline run may have records in: its own and each family's. */
export function runExperimentNames(config: PipelineConfig, run: RunLines = {}): string[] {
  return [
    ...new Set([
      runExperimentName(config, run),
      ...Object.values(familyExperiments(config, run.uploadModelLine)),
    ]),
  ];
}

/** MLflow's tag that nests a run under another in the UI (what `mlflow.start_run(nested=True)` sets). */
export const PARENT_RUN_TAG = "mlflow.parentRunId";

/** The `step` tag of a pipeline run's parent run (its children carry tune, train or evaluate). */
export const PIPELINE_STEP = "pipeline";

/**
 * One part of a metric or param key in the one naming scheme (snake_case, as the trainer's `val_*` keys):
 * lower case, every run of other characters one `_`. `Tools & Home` → `tools_home`, `NEUTRAL` → `neutral`.
 */
export function snakeKeyPart(part: string): string {
  const cleaned = part
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return cleaned === "" ? "blank" : cleaned;
}

/** `test_slice_<column>_<value>`, the stem of a slice's metric keys. */
function sliceKeyStem(column: string, value: string): string {
  return `test_slice_${snakeKeyPart(column)}_${snakeKeyPart(value)}`;
}

/** `test_slice_<column>_<value>_<what>`: `test_slice_main_category_all_beauty_f1`. */
export function sliceMetricKey(column: string, value: string, what: string): string {
  return `${sliceKeyStem(column, value)}_${what}`;
}

/**
 * Slice keys for an evaluation's findings, one per finding: two values that snake-case alike (`Tools & Home`,
 * `tools home`) would share a key and mix their histories, so the later ones get `_2`, `_3` after the value.
 */
export function sliceKeys(
  findings: readonly { column: string; value: string }[],
): ((what: string) => string)[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const stem = sliceKeyStem(f.column, f.value);
    const n = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, n);
    const unique = n === 1 ? stem : `${stem}_${n}`;
    return (what: string) => `${unique}_${what}`;
  });
}

/** The run tag of one retrigger decision, stable across redeliveries: `retrigger.<step>.a<attempt>`. */
export function retriggerTagKey(from: string, attempt: number | null, time: string): string {
  return attempt !== null ? `retrigger.${from}.a${attempt}` : `retrigger.${from}.${time}`;
}
