// Names in MLflow, a contract the trainer shares: one experiment per model line, a parent run per pipeline run, and
// metric keys MLflow accepts.
import { configuredModelLine, modelLineOf } from "./model-line.ts";
import type { PipelineConfig } from "./config.ts";

/**
 * The model line a run's models belong to: one per base model and label scheme, e.g. `minilm-3class`, or
 * `bert-base-uncased+roberta-base-3class` when the search spans two families' models. Derived here from the config
 * (the searched families' base models and the label thresholds) until the config names the line itself (issue 17).
 */
export function modelLine(config: PipelineConfig): string {
  // The registry's line (schemas/model-line.ts) whenever the search can only make models of one line: a configured
  // line, or families that share one base model. A search across base models tracks under their joined names.
  const lines = new Set(config.search.modelFamilies.map((f) => modelLineOf(config, f)));
  if (config.training.modelLine !== undefined || lines.size === 1) return configuredModelLine(config);
  const models = [
    ...new Set(config.search.modelFamilies.map((f) => shortModelName(config.training.models[f] ?? f))),
  ];
  const { negativeMax, positiveMin } = config.data.labels;
  // The default thresholds (1-2 negative, 3 neutral, 4-5 positive) are the plain 3-class scheme.
  const scheme = negativeMax === 2 && positiveMin === 4 ? "3class" : `3class-n${negativeMax}-p${positiveMin}`;
  return `${models.sort().join("+")}-${scheme}`;
}

/** `sentence-transformers/all-MiniLM-L6-v2` → `all-minilm-l6-v2`; a local path → its folder's name. */
function shortModelName(model: string): string {
  const last = model.replace(/\/+$/, "").split("/").at(-1) ?? model;
  return (
    last
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, "-")
      .replace(/^-+|-+$/g, "") || "model"
  );
}

/** The experiment of a model line; the trainer logs its trial and training runs there too (MLFLOW_EXPERIMENT_NAME). */
export function experimentName(line: string): string {
  return `sentiment-pipeline/${line}`;
}

/** The experiment a config's runs are tracked in. */
export function configExperimentName(config: PipelineConfig): string {
  return experimentName(modelLine(config));
}

/** The line a run is tracked under: the one its upload named (`model-line` metadata), else the config's. */
export function runTrackingLine(config: PipelineConfig, uploadModelLine?: string | null): string {
  return uploadModelLine ?? modelLine(config);
}

/** The experiment a run is tracked in: its upload's line's, else the config's. */
export function runExperimentName(config: PipelineConfig, uploadModelLine?: string | null): string {
  return experimentName(runTrackingLine(config, uploadModelLine));
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

/** `test_slice_<column>_<value>_<what>`: `test_slice_main_category_all_beauty_f1`. */
export function sliceMetricKey(column: string, value: string, what: string): string {
  return `test_slice_${snakeKeyPart(column)}_${snakeKeyPart(value)}_${what}`;
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
    const stem = `test_slice_${snakeKeyPart(f.column)}_${snakeKeyPart(f.value)}`;
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
