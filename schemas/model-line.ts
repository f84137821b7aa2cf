// Model lines: the name a champion belongs to, so that a challenger is compared only with models of its own kind.
import { z } from "zod";

/**
 * A line's name becomes part of registry model ids, display names and local folder names: lower-case letters and
 * digits in hyphen-separated words, starting with a letter, at most 40 characters (a Vertex model id, which is the
 * registry model name, a hyphen and the line, must fit in 63).
 */
export const MODEL_LINE_MAX = 40;
export const ModelLine = z
  .string()
  .max(MODEL_LINE_MAX, `a model line has at most ${MODEL_LINE_MAX} characters`)
  .regex(
    /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/,
    "a model line is lower-case letters and digits in hyphen-separated words, starting with a letter (e.g. minilm-3class)",
  );
export type ModelLine = z.infer<typeof ModelLine>;

/** The line of registered models whose line cannot be told (registered before lines, their model folder gone). */
export const LEGACY_MODEL_LINE: ModelLine = "legacy-before-lines";

/** The label scheme's part of a default line: `3class` for the default star cut-offs, else the cut-offs too. */
export function labelScheme(labels: { negativeMax: number; positiveMin: number }): string {
  if (labels.negativeMax === 2 && labels.positiveMin === 4) return "3class";
  const n = (x: number) => String(x).replace(".", "p");
  return `3class-n${n(labels.negativeMax)}-p${n(labels.positiveMin)}`;
}

/**
 * The default line of a base model and a label scheme: the model's last path segment as a slug, then the scheme
 * (`sentence-transformers/all-MiniLM-L6-v2` -> `all-minilm-l6-v2-3class`, `tiny` -> `tiny-3class`).
 */
export function defaultModelLine(
  model: string,
  labels: { negativeMax: number; positiveMin: number },
): ModelLine {
  const scheme = labelScheme(labels);
  const last =
    model
      .replace(/[\\/]+$/, "")
      .split(/[\\/]/)
      .pop() ?? "";
  let base = last
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (!/^[a-z]/.test(base)) base = `m-${base}`.replace(/-+$/, "");
  base = base.slice(0, MODEL_LINE_MAX - scheme.length - 1).replace(/-+$/, "");
  return ModelLine.parse(`${base}-${scheme}`);
}

interface LineConfig {
  training: { modelLine?: string | undefined; models: Partial<Record<string, string>> };
  data: { labels: { negativeMax: number; positiveMin: number } };
  search: { modelFamilies: readonly string[] };
}

/** The line of a model trained from `family`: the config's `training.modelLine`, else the base model's default line. */
export function modelLineOf(config: LineConfig, family: string): ModelLine {
  if (config.training.modelLine !== undefined) return config.training.modelLine;
  return defaultModelLine(config.training.models[family] ?? family, config.data.labels);
}

/**
 * The line a run's model belongs to, in precedence order: the line fixed when training completed, else the line the
 * upload named (its `model-line` metadata), else the config's line or the default one of the trained family.
 */
export function runModelLine(
  config: LineConfig,
  state: { modelLine?: ModelLine | null | undefined; uploadModelLine?: ModelLine | undefined },
  family: string,
): ModelLine {
  return state.modelLine ?? state.uploadModelLine ?? modelLineOf(config, family);
}

/** The line whose champion `MODEL_URI=champion` serves: the line of the search's first model family. */
export function configuredModelLine(config: LineConfig): ModelLine {
  return modelLineOf(config, config.search.modelFamilies[0] ?? "bert");
}

/**
 * The registry model id of a line: `<registryModelName>-<line>`. The line is hostile input (it comes from config):
 * it is validated here, where it becomes part of a folder or resource name, and the id must fit Vertex's 63 characters.
 */
export function lineModelId(modelName: string, line: string): string {
  const parsed = ModelLine.safeParse(line);
  if (!parsed.success)
    throw new Error(
      `invalid model line ${JSON.stringify(line)}: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    );
  const id = `${modelName}-${parsed.data}`;
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(id))
    throw new Error(
      `registry model id ${JSON.stringify(id)} (runtime.registryModelName "-" model line) is longer than 63 characters`,
    );
  return id;
}
