// Evaluation throughput (reviews/s) on this CPU: the evaluate job (onnxruntime, length-sorted batches) against the
// original approach (PyTorch, one review per forward pass) and PyTorch batched, same model, same split, one run.
//
//   npm run bench -- evaluate
//
// Trains `minilm` (BENCH_EVAL_MODEL, e.g. `tiny` for a quick look) once with the real prepare job and trainer on the
// review sample, caching the model under .local/bench/evaluate; then times all approaches back to back with the same
// number of threads (BENCH_EVAL_THREADS, default: every core this process may use).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { JsonLogger } from "../../functions/adapters/json-logger.ts";
import type { EventBus } from "../../functions/ports/event-bus.ts";
import { LocalObjectStore } from "../../emulator/embedded/local-object-store.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { EvaluateJobInput, PrepareJobInput, TrainJobInput } from "../../schemas/job-input.ts";
import { LABELS } from "../../schemas/names.ts";
import { runJob } from "../../gpu-jobs/common/job-runtime.ts";
import { inputToArgs } from "../../gpu-jobs/specs/job-args.ts";
import { prepareJob } from "../../gpu-jobs/prepare/job.ts";
import { runEvaluation } from "../../gpu-jobs/evaluate/run-evaluation.ts";
import { readTestSplit } from "../../gpu-jobs/evaluate/test-split.ts";
import { runModel } from "../../gpu-jobs/evaluate/model-run.ts";
import { loadModel } from "../../gpu-jobs/inference/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const WORK = join(ROOT, ".local/bench/evaluate");
const BUCKET = "bench-bucket";
const RUN_DIR = `gs://${BUCKET}/runs/bench-evaluate`;
const DATA_DIR = `${RUN_DIR}/prepare/a1`;
const TRAIN_OUT = `${RUN_DIR}/train/a1`;
const MODEL = process.env.BENCH_EVAL_MODEL ?? "minilm";
const THREADS = Number(process.env.BENCH_EVAL_THREADS ?? availableParallelism());
const MAX_LENGTH = 128;
const PARAMS = {
  modelFamily: "bert",
  learningRate: 5e-5,
  batchSize: 32,
  epochs: 1,
  weightDecay: 0.01,
  dropout: 0.1,
} as const;
/** Most rows go to the test split: the benchmark measures evaluation, so it wants many rows to evaluate. */
const SPLIT = { train: 0.3, validation: 0.1, test: 0.6 };
const COMMON = { runId: "bench-evaluate", attempt: 1, correlationId: "bench", runDir: RUN_DIR };

const quiet: EventBus = {
  publish: (e: PipelineEvent) => Promise.resolve(e.id),
  publishRaw: () => Promise.resolve(""),
};
const log = new JsonLogger({ labels: { component: "bench:evaluate" } });

function python(): string {
  return execFileSync("bash", [join(ROOT, "gpu-jobs/trainer/scripts/ensure-venv.sh")], {
    encoding: "utf8",
  }).trim();
}

function samplePath(): string {
  const path = process.env.REVIEWS_SAMPLE ?? resolve(ROOT, "../shared/data/amazon-reviews-2023-sample.jsonl");
  if (!existsSync(path)) throw new Error(`the review sample is not at ${path} (set REVIEWS_SAMPLE)`);
  return path;
}

/** Prepares the sample and trains the model once; reused while the sample, model and settings stay the same. */
async function ensureModel(py: string, store: LocalObjectStore): Promise<void> {
  const sample = readFileSync(samplePath());
  const key = createHash("sha256")
    .update(sample)
    .update(JSON.stringify({ MODEL, MAX_LENGTH, PARAMS, SPLIT }))
    .update(readFileSync(join(ROOT, "gpu-jobs/trainer/requirements.lock")))
    .digest("hex");
  const keyFile = join(WORK, "key.txt");
  if (
    existsSync(keyFile) &&
    readFileSync(keyFile, "utf8") === key &&
    existsSync(join(WORK, "bucket/runs/bench-evaluate/train/a1/model/model.onnx"))
  ) {
    console.log(`reusing the ${MODEL} model trained earlier (${WORK})`);
    return;
  }
  rmSync(join(WORK, "bucket"), { recursive: true, force: true });
  await store.write(`gs://${BUCKET}/uploads/sample.jsonl`, sample);
  const config = parseConfig({ runtime: { localRoot: WORK, bucket: BUCKET }, data: { split: SPLIT } });
  const prepare = PrepareJobInput.parse({
    ...COMMON,
    step: "prepare",
    outDir: DATA_DIR,
    input: `gs://${BUCKET}/uploads/sample.jsonl`,
    sliceColumns: config.rules.sliceColumns,
    data: config.data,
  });
  console.log("preparing the review sample ...");
  const code = await runJob("prepare", inputToArgs(prepare).slice(1), prepareJob, {
    config,
    store,
    bus: quiet,
    log,
    env: {},
  });
  if (code !== 0) throw new Error(`prepare failed with exit code ${code}`);
  const train = TrainJobInput.parse({
    ...COMMON,
    step: "train",
    outDir: TRAIN_OUT,
    dataDir: DATA_DIR,
    models: { bert: MODEL, roberta: MODEL },
    maxLength: MAX_LENGTH,
    seed: 42,
    useSideFeatures: true,
    earlyStoppingPatience: 2,
    warmupRatio: 0.1,
    maxGradNorm: 1,
    params: PARAMS,
    mitigation: null,
  });
  console.log(`training ${MODEL} for one epoch with the trainer (once) ...`);
  execFileSync(py, ["-m", "sentiment_trainer", ...inputToArgs(train)], {
    cwd: join(ROOT, "gpu-jobs/trainer"),
    env: {
      ...process.env,
      PIPELINE_MODE: "embedded",
      LOCAL_ROOT: WORK,
      BUCKET,
      SP_OUTBOX: join(WORK, "outbox.jsonl"),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  writeFileSync(keyFile, key);
}

interface Measured {
  name: string;
  reviewsPerSecond: number;
  seconds: number;
  predictions: number[];
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const store = new LocalObjectStore(BUCKET, join(WORK, "bucket"));
  const py = python();
  await ensureModel(py, store);
  const split = await readTestSplit(store, DATA_DIR);
  const rows = split.rows.length;
  console.log(`model ${MODEL}, test split ${rows} reviews, ${THREADS} threads, max length ${MAX_LENGTH}`);
  const results: Measured[] = [];

  // The job itself (read split, load, tokenize, infer, metrics, 1,000-resample bootstrap, write reports); the
  // throughput it reports covers tokenizing and inference, as the baselines' timings do.
  const config = parseConfig({});
  const input = EvaluateJobInput.parse({
    ...COMMON,
    step: "evaluate",
    outDir: `${RUN_DIR}/evaluate/bench`,
    dataDir: DATA_DIR,
    modelDir: `${TRAIN_OUT}/model`,
    rules: config.rules,
    evaluation: config.evaluation,
  });
  const deps = {
    store,
    registry: null,
    log,
    emit: () => Promise.resolve(),
    progress: () => Promise.resolve(),
    session: { provider: "cpu" as const, threads: THREADS },
  };
  await warmUp(store, split.stats.featureStats, split.rows.slice(0, 64));
  const began = performance.now();
  const outcome = await runEvaluation(input, deps);
  const jobSeconds = (performance.now() - began) / 1000;
  const predicted = (await store.read(outcome.predictionsUri)).toString("utf8").trim().split("\n");
  const jobPredictions = predicted.map((l) =>
    LABELS.indexOf((JSON.parse(l) as { predicted: (typeof LABELS)[number] }).predicted),
  );
  const jobRate = outcome.metrics.throughput!.reviewsPerSecond;
  results.push({
    name: "evaluate job (onnxruntime fp32, batches of 64)",
    reviewsPerSecond: jobRate,
    seconds: rows / jobRate,
    predictions: jobPredictions,
  });

  const int8 = await loadModel(
    { store, uri: `${TRAIN_OUT}/model` },
    { quantized: true, provider: "cpu", threads: THREADS },
  );
  const int8Run = await runModel(int8, split.rows, {
    batchSize: 64,
    dataFeatureStats: split.stats.featureStats,
  });
  await int8.release();
  results.push({
    name: "onnxruntime int8 (model.int8.onnx)",
    reviewsPerSecond: rows / int8Run.seconds,
    seconds: int8Run.seconds,
    predictions: [...int8Run.predictions],
  });

  console.log("timing the PyTorch baselines ...");
  const baseline = JSON.parse(
    execFileSync(
      py,
      [
        join(ROOT, "bench/evaluate/pytorch_baselines.py"),
        DATA_DIR,
        TRAIN_OUT,
        MODEL,
        String(MAX_LENGTH),
        "42",
        String(PARAMS.dropout),
        String(THREADS),
      ],
      {
        env: { ...process.env, PIPELINE_MODE: "embedded", LOCAL_ROOT: WORK, BUCKET },
        encoding: "utf8",
        maxBuffer: 64 << 20,
      },
    ),
  ) as Record<"single" | "batched", { seconds: number; reviewsPerSecond: number; predictions: number[] }> & {
    torch: string;
    threads: number;
  };
  results.push({ name: "PyTorch, one review per forward pass (original)", ...baseline.single });
  results.push({ name: "PyTorch batched (64, length-sorted)", ...baseline.batched });

  const original = baseline.single.reviewsPerSecond;
  const reference = baseline.batched.predictions;
  console.log(`\n| approach | reviews/s | seconds | vs original | agrees with PyTorch batched |`);
  console.log(`|---|---:|---:|---:|---:|`);
  for (const r of results) {
    const agree = r.predictions.filter((p, i) => p === reference[i]).length / rows;
    console.log(
      `| ${r.name} | ${r.reviewsPerSecond.toFixed(1)} | ${r.seconds.toFixed(2)} | ${(r.reviewsPerSecond / original).toFixed(2)}x | ${(agree * 100).toFixed(2)}% |`,
    );
  }
  console.log(
    `\nwhole evaluate job (read, load, infer, metrics, ${config.evaluation.bootstrapResamples}-resample bootstrap, write): ${jobSeconds.toFixed(2)} s`,
  );
  console.log(
    `torch ${baseline.torch} with ${baseline.threads} threads; onnxruntime-node ${ortVersion()} with ${THREADS} intra-op threads`,
  );
  writeFileSync(
    join(WORK, "result.json"),
    JSON.stringify(
      {
        model: MODEL,
        rows,
        threads: THREADS,
        jobSeconds,
        results: results.map(({ predictions: _, ...r }) => r),
      },
      null,
      2,
    ),
  );
}

/** One small run first, so no approach pays for first-use allocation in its timing (the baselines warm up too). */
async function warmUp(
  store: LocalObjectStore,
  stats: Parameters<typeof runModel>[2]["dataFeatureStats"],
  rows: Parameters<typeof runModel>[1],
): Promise<void> {
  const model = await loadModel({ store, uri: `${TRAIN_OUT}/model` }, { provider: "cpu", threads: THREADS });
  await runModel(model, rows, { batchSize: 64, dataFeatureStats: stats });
  await model.release();
}

function ortVersion(): string {
  return (
    JSON.parse(readFileSync(join(ROOT, "node_modules/onnxruntime-node/package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

await main();
