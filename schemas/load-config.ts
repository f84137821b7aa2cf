// Reads the pipeline config once: defaults, then a JSON file, then environment variables, then explicit overrides.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { PipelineConfig, type PipelineConfigInput } from "./config.ts";
import { MODEL_FAMILIES } from "./hyperparams.ts";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Parse = (raw: string) => unknown;
const num: Parse = (s) => (s.trim() === "" ? s : Number(s));
const int: Parse = num;
const bool: Parse = (s) => (/^(1|true|yes)$/i.test(s) ? true : /^(0|false|no)$/i.test(s) ? false : s);
const str: Parse = (s) => s;
const list: Parse = (s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** Every environment variable the config reads, with the config path it sets. The README's table mirrors this. */
export const ENV_VARS: ReadonlyArray<{ name: string; path: string; parse: Parse; doc: string }> = [
  { name: "PIPELINE_MODE", path: "runtime.mode", parse: str, doc: "embedded, emulators or gcp" },
  { name: "BUCKET", path: "runtime.bucket", parse: str, doc: "bucket holding uploads/ and runs/" },
  { name: "GOOGLE_CLOUD_PROJECT", path: "runtime.projectId", parse: str, doc: "Google Cloud project id" },
  {
    name: "GOOGLE_CLOUD_REGION",
    path: "runtime.region",
    parse: str,
    doc: "region of jobs, functions and registry",
  },
  {
    name: "LOCAL_ROOT",
    path: "runtime.localRoot",
    parse: str,
    doc: "embedded mode: folder for the bucket and registry",
  },
  { name: "TOPIC_PREFIX", path: "runtime.topicPrefix", parse: str, doc: "prefix of every topic name" },
  {
    name: "MLFLOW_TRACKING_URI",
    path: "runtime.mlflowTrackingUri",
    parse: str,
    doc: "MLflow server; unset disables tracking",
  },
  {
    name: "PUBSUB_EMULATOR_HOST",
    path: "runtime.pubsubEmulatorHost",
    parse: str,
    doc: "host:port of the Pub/Sub emulator",
  },
  {
    name: "STORAGE_EMULATOR_ENDPOINT",
    path: "runtime.storageEmulatorEndpoint",
    parse: str,
    doc: "URL of the Cloud Storage emulator",
  },
  {
    name: "VERTEX_ENDPOINT",
    path: "runtime.vertexEndpoint",
    parse: str,
    doc: "host:port of the Vertex AI stand-in",
  },
  { name: "F1_MIN", path: "rules.f1Min", parse: num, doc: "weighted F1 gate" },
  {
    name: "MIN_SLICE_SHARE",
    path: "rules.minSliceShare",
    parse: num,
    doc: "smallest judged slice share (inclusive)",
  },
  {
    name: "MIN_SLICE_ROWS",
    path: "rules.minSliceRows",
    parse: int,
    doc: "or: smallest judged slice row count (inclusive)",
  },
  {
    name: "GROUP_RARE_SLICES",
    path: "rules.groupRareSlices",
    parse: bool,
    doc: "pool values too small to judge into other",
  },
  {
    name: "CROSS_SLICES",
    path: "rules.crossSlices",
    parse: bool,
    doc: "judge cells of each slice column pair",
  },
  {
    name: "SLICE_F1_RATIO",
    path: "rules.sliceF1Ratio",
    parse: num,
    doc: "slice F1 / overall F1 below this is biased",
  },
  { name: "SLICE_COLUMNS", path: "rules.sliceColumns", parse: list, doc: "comma-separated slice columns" },
  {
    name: "REQUIRE_SIGNIFICANCE",
    path: "rules.requireSignificance",
    parse: bool,
    doc: "block only significant bias",
  },
  {
    name: "CHAMPION_TOLERANCE",
    path: "rules.championTolerance",
    parse: num,
    doc: "allowed F1 drop against the champion",
  },
  { name: "RETUNE_BUDGET", path: "budgets.retune", parse: int, doc: "re-tunings per run" },
  {
    name: "MITIGATION_BUDGET",
    path: "budgets.mitigation",
    parse: int,
    doc: "mitigated re-trainings per run",
  },
  {
    name: "JOB_ATTEMPTS",
    path: "budgets.jobAttempts",
    parse: int,
    doc: "tries per job before the run fails",
  },
  { name: "TUNING_TRIALS", path: "search.trials", parse: int, doc: "Optuna trials per tuning" },
  {
    name: "TUNING_TIME_BUDGET",
    path: "search.timeBudget",
    parse: int,
    doc: "seconds a study may run; 0 for no limit",
  },
  {
    name: "PARALLEL_TRIALS",
    path: "search.parallelTrials",
    parse: int,
    doc: "trials at once (>1: a Vertex tuning job)",
  },
  { name: "MAX_LENGTH", path: "training.maxLength", parse: int, doc: "token limit of title + text" },
  { name: "SEED", path: "training.seed", parse: int, doc: "training seed" },
  {
    name: "INT8_F1_TOLERANCE",
    path: "training.int8F1Tolerance",
    parse: num,
    doc: "largest F1 loss the int8 export may cost",
  },
  {
    name: "MODEL_LINE",
    path: "training.modelLine",
    parse: str,
    doc: "model line (champion per line); default per base model",
  },
  {
    name: "RESEED_ON_RETUNE",
    path: "training.reseedOnRetune",
    parse: bool,
    doc: "retrain a retune's unchanged best with a new seed",
  },
  {
    name: "COMPILE_STEP",
    path: "training.compileStep",
    parse: str,
    doc: "compiled training step on a GPU: auto, graphs or off",
  },
  { name: "SPLIT_MODE", path: "data.splitMode", parse: str, doc: "stratified or chronological" },
  {
    name: "MAX_REJECTED_SHARE",
    path: "data.maxRejectedShare",
    parse: num,
    doc: "largest tolerated share of rejected rows",
  },
  {
    name: "BOOTSTRAP_RESAMPLES",
    path: "evaluation.bootstrapResamples",
    parse: int,
    doc: "bootstrap resamples per slice",
  },
  {
    name: "EVAL_ONNX",
    path: "evaluation.onnx",
    parse: str,
    doc: "export evaluated: served, int8 or fp32",
  },
  {
    name: "MODEL_URI",
    path: "serving.modelUri",
    parse: str,
    doc: "served model: champion, a model or run folder",
  },
  {
    name: "SERVING_QUANTIZED",
    path: "serving.quantized",
    parse: bool,
    doc: "serve model.int8.onnx (true) or model.onnx",
  },
  {
    name: "SERVING_BATCH_WINDOW_MS",
    path: "serving.batchWindowMs",
    parse: num,
    doc: "how long a batch waits for more requests",
  },
  { name: "SERVING_MAX_BATCH_ROWS", path: "serving.maxBatchRows", parse: int, doc: "rows per ONNX run" },
  {
    name: "SERVING_MAX_INSTANCES",
    path: "serving.maxInstances",
    parse: int,
    doc: "instances per request (more: 413)",
  },
  {
    name: "SERVING_MAX_BODY_BYTES",
    path: "serving.maxBodyBytes",
    parse: int,
    doc: "request body limit (more: 413)",
  },
  {
    name: "SERVING_MAX_CONNECTIONS",
    path: "serving.maxConnections",
    parse: int,
    doc: "open connections (more are closed)",
  },
  {
    name: "SERVING_READ_TIMEOUT_MS",
    path: "serving.requestTimeoutMs",
    parse: int,
    doc: "time to send a whole request (else 408)",
  },
  {
    name: "SERVING_HEADER_TIMEOUT_MS",
    path: "serving.headersTimeoutMs",
    parse: int,
    doc: "time to send a request's headers (else 408)",
  },
  {
    name: "SERVING_MAX_PENDING",
    path: "serving.maxPending",
    parse: int,
    doc: "predictions held at once (more: 503)",
  },
  {
    name: "SERVING_MAX_BUFFER_BYTES",
    path: "serving.maxBufferedBytes",
    parse: int,
    doc: "request bodies held at once (more: 503)",
  },
  {
    name: "SERVING_WORKERS",
    path: "serving.workers",
    parse: int,
    doc: "inference worker threads (0: main thread)",
  },
  { name: "SERVING_THREADS", path: "serving.threads", parse: int, doc: "onnxruntime threads per session" },
  {
    name: "SERVING_WORKER_NICE",
    path: "serving.workerNice",
    parse: int,
    doc: "nice value of the inference threads (0: unchanged)",
  },
  {
    name: "SERVING_CACHE_DIR",
    path: "serving.cacheDir",
    parse: str,
    doc: "local cache of gs:// model files",
  },
];

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** A JSON config file; defaults to the PIPELINE_CONFIG environment variable. */
  file?: string;
  /** Applied last: what a command line or a test sets. */
  overrides?: PipelineConfigInput;
}

/** Parses the config once, fails with the offending path and its source, and returns it deeply frozen. */
export function loadConfig(options: LoadConfigOptions = {}): PipelineConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.PIPELINE_CONFIG;
  let merged: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  if (file) {
    let fromFile: unknown;
    try {
      fromFile = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
    if (!isPlainObject(fromFile)) throw new ConfigError(`config file ${file}: must hold a JSON object`);
    merged = deepMerge(merged, fromFile);
    for (const path of leafPaths(fromFile)) sources.set(path, `file ${file}`);
  }
  for (const v of ENV_VARS) {
    const raw = env[v.name];
    if (raw === undefined || raw === "") continue;
    merged = deepMerge(merged, setPath({}, v.path, v.parse(raw)));
    sources.set(v.path, `env ${v.name}`);
  }
  const model = env.MODEL;
  if (model) {
    const models = Object.fromEntries(MODEL_FAMILIES.map((f) => [f, model]));
    merged = deepMerge(merged, { training: { models } });
    sources.set("training.models", "env MODEL");
  }
  if (options.overrides) {
    merged = deepMerge(merged, options.overrides);
    for (const path of leafPaths(options.overrides)) sources.set(path, "overrides");
  }
  return parseConfig(merged, sources);
}

/** Validates a config object; each problem is reported with its dotted path and, when known, where it came from. */
export function parseConfig(input: unknown, sources = new Map<string, string>()): PipelineConfig {
  const result = PipelineConfig.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.join(".");
      const source = findSource(sources, path);
      return `  ${path || "(root)"}${source ? ` (from ${source})` : ""}: ${issue.message}`;
    });
    throw new ConfigError(`invalid pipeline config:\n${lines.join("\n")}`);
  }
  const unknown = unknownKeys(input, PipelineConfig);
  if (unknown.length > 0) {
    throw new ConfigError(
      `invalid pipeline config:\n${unknown.map((p) => `  ${p}: unknown key`).join("\n")}`,
    );
  }
  return deepFreeze(result.data);
}

/** Where a path's value came from: the path itself, an ancestor set as a whole, or a key below it. */
function findSource(sources: Map<string, string>, path: string): string | undefined {
  for (let p = path; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
    const s = sources.get(p);
    if (s) return s;
  }
  for (const [p, s] of sources) if (path === "" || p.startsWith(`${path}.`)) return s;
  return undefined;
}

/** zod strips unknown keys silently; a typo in a config file must not be ignored. */
function unknownKeys(input: unknown, schema: z.ZodType, prefix = ""): string[] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject) || !isPlainObject(input)) return [];
  const shape = inner.shape as Record<string, z.ZodType>;
  const out: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const child = shape[key];
    if (!child) out.push(path);
    else out.push(...unknownKeys(value, child, path));
  }
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else return s;
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split(".");
  let node = target;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) node[k] = value;
    else node = (node[k] ??= {}) as Record<string, unknown>;
  });
  return target;
}

function leafPaths(obj: unknown, prefix = ""): string[] {
  if (!isPlainObject(obj)) return prefix ? [prefix] : [];
  return Object.entries(obj).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
