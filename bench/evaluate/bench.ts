// Evaluation throughput (reviews/s) on this CPU: the evaluate job (onnxruntime, length-sorted batches) against the
// original approach (PyTorch, one review per forward pass) and PyTorch batched, same model, same split, one run.
//
//   npm run bench -- evaluate
//
// Trains `minilm` (BENCH_EVAL_MODEL, e.g. `tiny` for a quick look) once, 3 epochs, with the real prepare job and
// trainer on the review sample, cached under .local/bench/sample-model/MODEL (bench/support/sample-model.ts; the
// serving benchmark serves the same model). Then times the approaches in rounds
// (BENCH_EVAL_ROUNDS, default 3), each approach evaluating the whole split once per round in an order that rotates,
// so a busy shared machine slows them alike, with the same number of threads (BENCH_EVAL_THREADS, default: every
// core this process may use); the median round counts.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { JsonLogger } from "../../platform/json-logger.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { EvaluateJobInput } from "../../schemas/job-input.ts";
import { runEvaluation } from "../../gpu-jobs/evaluate/run-evaluation.ts";
import { evaluatedExport } from "../../gpu-jobs/specs/build-job-spec.ts";
import { readTestSplit } from "../../gpu-jobs/evaluate/test-split.ts";
import {
  COMMON,
  DATA_DIR,
  MAX_LENGTH,
  PARAMS,
  ROOT,
  RUN_DIR,
  SEED,
  TRAIN_OUT,
  ensureSampleModel,
} from "../support/sample-model.ts";
import { runModel } from "../../gpu-jobs/evaluate/model-run.ts";
import { loadModel, type LoadedModel } from "../../gpu-jobs/inference/index.ts";

const MODEL = process.env.BENCH_EVAL_MODEL ?? "minilm";
const THREADS = Number(process.env.BENCH_EVAL_THREADS ?? availableParallelism());
/** The benchmark's own outputs (the result file); the model and the splits come from bench/support/sample-model.ts. */
const WORK = join(ROOT, ".local/bench/evaluate");

const log = new JsonLogger({ labels: { component: "bench:evaluate" } });

/**
 * Rounds: in each, every approach evaluates the whole test split, back to back, in an order that rotates between
 * rounds. Whole splits, because that is how the job batches (length-sorted over all its rows); chunks of the split
 * would give the batched approaches more padding than they ever have.
 */
const ROUNDS = Number(process.env.BENCH_EVAL_ROUNDS ?? 3);

interface Approach {
  name: string;
  run(start: number, end: number): Promise<{ seconds: number; predictions: number[] }>;
  /** Seconds per round. */
  seconds: number[];
  predictions: number[];
}

/** The PyTorch worker (pytorch_baselines.py): one JSON line per request and per answer. */
class PyTorchWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = "";

  constructor(py: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(py, args, { env });
    this.child.stderr.on(
      "data",
      (d: Buffer) => (this.stderr = (this.stderr + d.toString("utf8")).slice(-4000)),
    );
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async next<T>(): Promise<T> {
    const line = await this.lines.next();
    if (line.done) throw new Error(`the PyTorch worker stopped: ${this.stderr}`);
    return JSON.parse(line.value) as T;
  }

  async request<T>(value: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(value)}\n`);
    return this.next<T>();
  }

  close(): void {
    this.child.stdin.end(`${JSON.stringify({ mode: "quit" })}\n`);
  }
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const { py, store, env } = await ensureSampleModel(MODEL, log);
  const split = await readTestSplit(store, DATA_DIR);
  const rows = split.rows;
  const n = rows.length;
  const modelUri = `${TRAIN_OUT}/model`;
  console.log(`model ${MODEL}, test split ${n} reviews, ${THREADS} threads, max length ${MAX_LENGTH}`);

  const worker = new PyTorchWorker(
    py,
    [
      join(ROOT, "bench/evaluate/pytorch_baselines.py"),
      DATA_DIR,
      TRAIN_OUT,
      MODEL,
      String(MAX_LENGTH),
      String(SEED),
      String(PARAMS.dropout),
      String(THREADS),
    ],
    env,
  );
  const ready = await worker.next<{ rows: number; torch: string; threads: number; singleThreads: number }>();
  if (ready.rows !== n) throw new Error(`the PyTorch worker read ${ready.rows} test rows, this side ${n}`);
  const fp32 = await loadModel({ store, uri: modelUri }, { provider: "cpu", threads: THREADS });
  const int8 = await loadModel(
    { store, uri: modelUri },
    { quantized: true, provider: "cpu", threads: THREADS },
  );
  const ort = (model: LoadedModel) => async (start: number, end: number) => {
    const run = await runModel(model, rows.slice(start, end), {
      batchSize: 64,
      dataFeatureStats: split.stats.featureStats,
    });
    return { seconds: run.seconds, predictions: [...run.predictions] };
  };
  await ort(fp32)(0, 64);
  await ort(int8)(0, 64);
  const approaches: Approach[] = [
    {
      name: "evaluate job's inference, int8 (model.int8.onnx, the served export; the default)",
      run: ort(int8),
      seconds: [],
      predictions: [],
    },
    {
      name: "evaluate job's inference, fp32 (model.onnx, EVAL_ONNX=fp32)",
      run: ort(fp32),
      seconds: [],
      predictions: [],
    },
    {
      name: `PyTorch, one review per forward pass (original; ${ready.singleThreads} thread${ready.singleThreads > 1 ? "s" : ""})`,
      run: (start, end) => worker.request({ mode: "single", start, end }),
      seconds: [],
      predictions: [],
    },
    {
      name: "PyTorch batched (64, length-sorted)",
      run: (start, end) => worker.request({ mode: "batched", start, end }),
      seconds: [],
      predictions: [],
    },
  ];
  const roundRatios: number[] = [];
  const fp32RoundRatios: number[] = [];
  const rounds = ROUNDS;
  for (let round = 0; round < rounds; round += 1) {
    for (let k = 0; k < approaches.length; k += 1) {
      const a = approaches[(round + k) % approaches.length]!;
      const r = await a.run(0, n);
      a.seconds.push(r.seconds);
      a.predictions = r.predictions;
    }
    roundRatios.push(approaches[2]!.seconds[round]! / approaches[0]!.seconds[round]!);
    fp32RoundRatios.push(approaches[2]!.seconds[round]! / approaches[1]!.seconds[round]!);
    process.stdout.write(`round ${round + 1}/${rounds}\r`);
  }
  worker.close();
  await fp32.release();
  await int8.release();

  // The whole job once more, on its own: read, load, tokenize, infer, metrics, bootstrap, write.
  const config = parseConfig({});
  const input = EvaluateJobInput.parse({
    ...COMMON,
    step: "evaluate",
    outDir: `${RUN_DIR}/evaluate/a1`,
    dataDir: DATA_DIR,
    modelDir: modelUri,
    rules: config.rules,
    evaluation: { ...config.evaluation, onnx: evaluatedExport(config) },
  });
  const began = performance.now();
  const outcome = await runEvaluation(input, {
    store,
    registry: null,
    log,
    emit: () => Promise.resolve(),
    progress: () => Promise.resolve(),
    session: { provider: "cpu", threads: THREADS },
  });
  const jobSeconds = (performance.now() - began) / 1000;

  const median = (xs: readonly number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const original = median(approaches[2]!.seconds);
  const reference = approaches[3]!.predictions;
  console.log(
    `\n| approach | reviews/s (median round) | seconds per round | vs original | agrees with PyTorch batched |`,
  );
  console.log(`|---|---:|---:|---:|---:|`);
  for (const a of approaches) {
    const agree = a.predictions.filter((p, i) => p === reference[i]).length / n;
    const seconds = median(a.seconds);
    console.log(
      `| ${a.name} | ${(n / seconds).toFixed(1)} | ${a.seconds.map((x) => x.toFixed(2)).join(", ")} | ${(original / seconds).toFixed(2)}x | ${(agree * 100).toFixed(2)}% |`,
    );
  }
  for (const [what, ratios] of [
    ["int8", roundRatios],
    ["fp32", fp32RoundRatios],
  ] as const) {
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(
      `${what === "int8" ? "\n" : ""}${what} job inference vs original, per round of the whole split: min ${sorted[0]!.toFixed(2)}x, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}x, max ${sorted.at(-1)!.toFixed(2)}x (${rounds} rounds, order rotated)`,
    );
  }
  console.log(
    `whole evaluate job alone (${outcome.metrics.modelFile}; read, load, tokenize, infer, metrics, ${config.evaluation.bootstrapResamples}-resample bootstrap, write): ${jobSeconds.toFixed(2)} s, inference ${outcome.metrics.throughput!.reviewsPerSecond.toFixed(1)} reviews/s`,
  );
  console.log(
    `torch ${ready.torch} with ${ready.threads} threads; onnxruntime-node ${ortVersion()} with ${THREADS} intra-op threads`,
  );
  writeFileSync(
    join(WORK, "result.json"),
    JSON.stringify(
      {
        model: MODEL,
        rows: n,
        threads: THREADS,
        jobSeconds,
        roundRatios,
        results: approaches.map((a) => ({
          name: a.name,
          seconds: a.seconds,
          reviewsPerSecond: n / median(a.seconds),
        })),
      },
      null,
      2,
    ),
  );
}

function ortVersion(): string {
  return (
    JSON.parse(readFileSync(join(ROOT, "node_modules/onnxruntime-node/package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

await main();
