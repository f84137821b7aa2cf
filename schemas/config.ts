// The pipeline config: every rule, budget, search space and machine in one validated, frozen object.
import { z } from "zod";
import { SearchSpace, ModelFamily } from "./hyperparams.ts";
import { MachineSpecs } from "./machine.ts";
import { BucketName } from "./names.ts";
import { ModelLine } from "./model-line.ts";

export const Rules = z.object({
  /** F1 gate: weighted F1 on the test split below this re-runs tuning. */
  f1Min: z.number().min(0).max(1).default(0.6),
  /** A slice must hold at least this share of the test rows (inclusive) to be judged... */
  minSliceShare: z.number().min(0).max(1).default(0.1),
  /**
   * ...or at least this many test rows (inclusive): a slice is judged when either holds. Unset, the share alone
   * decides (the original pipeline's rule); on a large test split a share of 10% may leave every value of a column
   * with many values unjudged, and a row count judges the values big enough to measure.
   */
  minSliceRows: z.number().int().min(1).optional(),
  /**
   * The values of a column that are too small to be judged are pooled into one `other` slice (at least two values,
   * and not the whole column), judged like any slice when it is large enough.
   */
  groupRareSlices: z.boolean().default(true),
  /**
   * Every pair of slice columns is crossed (year × main_category); a crossed cell is reported and judged only when it
   * is large enough to be judged on its own.
   */
  crossSlices: z.boolean().default(true),
  /** A judged slice whose F1 is strictly below this times the overall F1 is biased. */
  sliceF1Ratio: z.number().min(0).max(1).default(0.9),
  sliceColumns: z
    .array(z.string().regex(/^[a-z_][a-z0-9_]*$/))
    .min(1)
    .default(["year", "main_category"]),
  /** When true, a slice only blocks the run if the bootstrap interval of its F1 ratio lies wholly below the threshold. */
  requireSignificance: z.boolean().default(false),
  /** The challenger's weighted F1 may be at most this much below the champion's and still be promoted. */
  championTolerance: z.number().min(0).max(1).default(0),
});
export type Rules = z.infer<typeof Rules>;

export const Budgets = z.object({
  retune: z.number().int().min(0).max(20).default(1),
  mitigation: z.number().int().min(0).max(20).default(1),
  /** Tries per job launch: a failed job is retried until this many attempts have failed in a row. */
  jobAttempts: z.number().int().min(1).max(10).default(2),
  manualRetriggers: z.number().int().min(0).max(100).default(5),
});
export type Budgets = z.infer<typeof Budgets>;

/** reconcile-runs, run every few minutes by Cloud Scheduler: what it does about jobs that ended or overran. */
export const Reconcile = z.object({
  /**
   * Seconds a step attempt may take from its launch (queueing and provisioning included) before its job is cancelled
   * and the attempt counts as failed (retried within budgets.jobAttempts). Vertex's own timeout
   * (machines.STEP.timeoutSeconds) counts running time only: a job stuck in the queue for want of GPU quota waits
   * for ever without this.
   */
  stepDeadlineSeconds: z
    .object({
      prepare: z
        .number()
        .int()
        .min(60)
        .default(2 * 3600),
      tune: z
        .number()
        .int()
        .min(60)
        .default(8 * 3600),
      train: z
        .number()
        .int()
        .min(60)
        .default(6 * 3600),
      evaluate: z
        .number()
        .int()
        .min(60)
        .default(2 * 3600),
    })
    .default({ prepare: 2 * 3600, tune: 8 * 3600, train: 6 * 3600, evaluate: 2 * 3600 }),
  /**
   * Seconds after a job ended before its run is told, when no event of the job has moved the run: the job's own
   * completion event, or watch-jobs's job.failed, normally arrives within seconds.
   */
  endedGraceSeconds: z.number().int().min(0).max(86_400).default(600),
  /** Runs looked at per tick, newest first. */
  maxRuns: z.number().int().min(1).max(10_000).default(500),
});
export type Reconcile = z.infer<typeof Reconcile>;

export const Mitigation = z.object({
  /** Weight of a biased slice's training examples: clamp(boost * overallF1 / sliceF1, minWeight, maxWeight). */
  boost: z.number().positive().max(100).default(2),
  minWeight: z.number().min(1).max(100).default(2),
  maxWeight: z.number().min(1).max(100).default(5),
});
export type Mitigation = z.infer<typeof Mitigation>;

export const Training = z.object({
  /** Model per family: a Hugging Face id or local path, `minilm`, or `tiny`. */
  models: z
    .record(ModelFamily, z.string().min(1))
    .default({ bert: "bert-base-uncased", roberta: "roberta-base" }),
  /**
   * The model line a trained model belongs to: a champion is per line, and a challenger is compared only with its own
   * line's champion. Default: one line per base model and label scheme (`minilm-3class`, `bert-base-uncased-3class`).
   */
  modelLine: ModelLine.optional(),
  maxLength: z.number().int().min(8).max(512).default(128),
  seed: z.number().int().min(0).default(42),
  /**
   * When a low-F1 retune's search finds the very parameters already trained, train them again with a new seed
   * (training.seed + the retune count). Off by default: the same parameters and seed would give the same model, so
   * the run ends below threshold and its trail says the retune found nothing better.
   */
  reseedOnRetune: z.boolean().default(false),
  useSideFeatures: z.boolean().default(true),
  earlyStoppingPatience: z.number().int().min(0).max(20).default(2),
  warmupRatio: z.number().min(0).max(0.5).default(0.1),
  maxGradNorm: z.number().positive().default(1),
  /**
   * The compiled training step: `auto` compiles it (torch.compile, CUDA graphs over sequence-length buckets of 32) on a
   * GPU when a fit plans at least 2,000 steps, enough to repay about 45 s of compiling (measured on an H200); `graphs` always compiles;
   * `off` runs the eager step. Under data parallelism the step stays eager.
   */
  compileStep: z.enum(["auto", "graphs", "off"]).default("auto"),
  /**
   * The int8 export is served only if its validation weighted and macro F1 are each at most this much below fp32's;
   * otherwise fp32 is served and evaluated, and the run says why.
   */
  int8F1Tolerance: z.number().min(0).max(1).default(0.02),
});
export type Training = z.infer<typeof Training>;

export const DataConfig = z.object({
  seed: z.number().int().min(0).default(42),
  split: z
    .object({ train: z.number().positive(), validation: z.number().positive(), test: z.number().positive() })
    .refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, "split shares must sum to 1")
    .default({ train: 0.8, validation: 0.1, test: 0.1 }),
  splitMode: z.enum(["stratified", "chronological"]).default("stratified"),
  /** Star ratings at or below negativeMax are NEGATIVE, at or above positiveMin POSITIVE, NEUTRAL between. */
  labels: z
    .object({ negativeMax: z.number().min(1).max(5), positiveMin: z.number().min(1).max(5) })
    .refine((l) => l.negativeMax < l.positiveMin, "negativeMax must be below positiveMin")
    .default({ negativeMax: 2, positiveMin: 4 }),
  /** The run fails when more than this share of the rows is rejected. */
  maxRejectedShare: z.number().min(0).max(1).default(0.5),
});
export type DataConfig = z.infer<typeof DataConfig>;

export const Evaluation = z.object({
  bootstrapResamples: z.number().int().min(0).max(100_000).default(1000),
  confidence: z.number().gt(0).lt(1).default(0.95),
  seed: z.number().int().min(0).default(42),
  batchSize: z.number().int().min(1).max(4096).default(64),
  /**
   * Which export to evaluate: `served` (the default) is the one serving loads (`serving.quantized`: model.int8.onnx,
   * else model.onnx), so that the metrics that gate a model are the served model's; `int8` or `fp32` to choose.
   */
  onnx: z.enum(["served", "int8", "fp32"]).default("served"),
});
export type Evaluation = z.infer<typeof Evaluation>;

export const Images = z.object({
  trainer: z.string().min(1).default("{region}-docker.pkg.dev/{project}/sentiment-pipeline/trainer:latest"),
  jobs: z.string().min(1).default("{region}-docker.pkg.dev/{project}/sentiment-pipeline/jobs:latest"),
  serving: z.string().min(1).default("{region}-docker.pkg.dev/{project}/sentiment-pipeline/serving:latest"),
});
export type Images = z.infer<typeof Images>;

export const Runtime = z.object({
  mode: z.enum(["embedded", "emulators", "gcp"]).default("embedded"),
  bucket: BucketName.default("local-bucket"),
  projectId: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a Google Cloud project id")
    .default("local-project"),
  region: z
    .string()
    .regex(/^[a-z]+-[a-z]+\d+$/, "a region like us-central1")
    .default("us-central1"),
  /** Embedded mode: the folder that holds the bucket (`<localRoot>/bucket`), the registry and dead letters. */
  localRoot: z.string().min(1).default(".local"),
  topicPrefix: z
    .string()
    .regex(/^[a-z0-9-]*$/)
    .default(""),
  mlflowTrackingUri: z.string().url().optional(),
  /**
   * MLflow's credential variables, each from a Secret Manager secret of the project (its id): never in the URI,
   * never in a plain environment variable. Functions get them with --set-secrets; jobs read them at start.
   */
  mlflowSecrets: z
    .partialRecord(
      z.enum(["MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"]),
      z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "a Secret Manager secret id"),
    )
    .optional(),
  /**
   * start-run acknowledges an upload notification older than this and keeps it as a dead letter naming the upload,
   * so a backlog or a failure that kept redelivering does not start a run hours after the upload.
   */
  uploadMaxAgeSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(3600),
  pubsubEmulatorHost: z.string().optional(),
  storageEmulatorEndpoint: z.string().url().optional(),
  vertexEndpoint: z.string().optional(),
  registryModelName: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,62}$/)
    .default("sentiment-classifier"),
  /**
   * Local stand-ins for the container images: the command that replaces each image's entrypoint when a job runs
   * as a local process (embedded launcher, Vertex stand-in). `{python}` is the trainer's virtual environment.
   */
  localCommands: z.object({ trainer: z.array(z.string()).min(1), jobs: z.array(z.string()).min(1) }).default({
    trainer: ["{python}", "-m", "sentiment_trainer"],
    jobs: ["node", "--import", "tsx", "gpu-jobs/cli.ts"],
  }),
});
export type Runtime = z.infer<typeof Runtime>;

/** The prediction endpoint (serving/): which model, how requests are batched and bounded. */
export const Serving = z.object({
  /**
   * The model to serve: `champion` (the registry's champion), a gs:// or local model folder, a run folder (its
   * newest trained model), or a train attempt folder.
   */
  modelUri: z.string().min(1).default("champion"),
  /** Serve model.int8.onnx (default) or model.onnx. */
  quantized: z.boolean().default(true),
  /**
   * The longest a batch waits, in milliseconds, for requests already received but still being tokenized (it goes at
   * once when none are, or when it is full).
   */
  batchWindowMs: z.number().min(0).max(1000).default(2),
  /**
   * Rows per ONNX run: a batch closes early when it holds this many. 16, not 64: onnxruntime's CPU arena keeps the
   * largest run's activations for the session's life, and one worker's run of 64 rows x 128 tokens of MiniLM took the
   * server from 0.76 to 1.5 GB for good (docs/benchmarks.md, "Serving under hostile clients"); on a CPU a run of 16 is
   * as fast per row, and at concurrency 32 batches hold about 7 rows anyway.
   */
  maxBatchRows: z.number().int().min(1).max(4096).default(16),
  /** Instances per request; more is answered 413. */
  maxInstances: z.number().int().min(1).max(10_000).default(64),
  /**
   * Request body size limit in bytes; more is answered 413. Vertex AI online prediction accepts 1.5 MB per request
   * (gcloud ai endpoints predict: "the payload limit size (currently, 1.5MB)"), taken as 1,500,000 bytes.
   */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1_500_000),
  /**
   * Open connections the container server keeps; more are closed as they arrive, so that idle or slow clients cannot
   * exhaust the process's file descriptors.
   */
  maxConnections: z.number().int().min(1).max(1_000_000).default(1000),
  /** Milliseconds a client has to send a whole request (headers and body); slower ones get 408 and are closed. */
  requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** Milliseconds a client has to send a request's headers. */
  headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /**
   * Prediction requests the container server holds at once once their bodies are read (tokenizing, waiting for or in
   * a batch); more are answered 503 with Retry-After at once, so that waiting time stays bounded.
   */
  maxPending: z.number().int().min(1).max(100_000).default(128),
  /**
   * Bytes of request bodies the container server holds at once (being read or served); a body that would pass it is
   * answered 503 with Retry-After. Bytes are counted as they arrive, so slow bodies hold only what they have sent.
   */
  maxBufferedBytes: z
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024 * 1024)
    .default(64 * 1024 * 1024),
  /**
   * Inference worker threads, each with its own onnxruntime session, so batches run beside HTTP and tokenizing and
   * side by side; 0 runs them on the main thread. Default: the CPUs this process may use (its cgroup quota included).
   */
  workers: z.number().int().min(0).max(64).optional(),
  /** onnxruntime intra-op threads per session; default: the usable CPUs divided among the workers (at least 1). */
  threads: z.number().int().min(1).max(256).optional(),
  /**
   * Nice value of the inference worker threads (0 to 19; 0 leaves them as they are), so that on a contended core the
   * main thread, which answers health checks and reads requests, runs first (figures in docs/benchmarks.md, "Serving
   * under hostile clients"). A machine with idle cores runs both as before. Linux only; elsewhere the server logs why
   * it could not.
   */
  workerNice: z.number().int().min(0).max(19).default(10),
  /** Where gs:// model files are cached; default: a folder under the system temp dir. */
  cacheDir: z.string().min(1).optional(),
});
export type Serving = z.infer<typeof Serving>;

export const PipelineConfig = z.object({
  rules: Rules.default(Rules.parse({})),
  budgets: Budgets.default(Budgets.parse({})),
  reconcile: Reconcile.default(Reconcile.parse({})),
  search: SearchSpace.default(SearchSpace.parse({})),
  training: Training.default(Training.parse({})),
  mitigation: Mitigation.default(Mitigation.parse({})),
  data: DataConfig.default(DataConfig.parse({})),
  evaluation: Evaluation.default(Evaluation.parse({})),
  machines: MachineSpecs.default(MachineSpecs.parse({})),
  images: Images.default(Images.parse({})),
  runtime: Runtime.default(Runtime.parse({})),
  serving: Serving.default(Serving.parse({})),
});
export type PipelineConfig = z.infer<typeof PipelineConfig>;
/** What a config file may hold: any subset of the full config. */
export type PipelineConfigInput = z.input<typeof PipelineConfig>;
