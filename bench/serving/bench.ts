// Serving on this machine: the predict container server (onnxruntime int8 and fp32 on inference workers, and int8 on
// the main thread) against the original approach (Flask + PyTorch, one forward pass per request), same trained
// model, same requests, one run.
//
//   npm run bench -- serving
//
// Measures, for each server, cold start (process start to first answer) and throughput with p50/p99 latency at
// concurrency 1, 8 and 32 (a closed-loop keep-alive client, one review of the shared sample per request, levels run
// in rotating rounds; autocannon cross-checks it on the int8 server); int8/fp32 agreement on every review of the
// sample; and a soak of 10,000 mixed valid and invalid requests through autocannon (status codes, server memory).
// Serves the model the evaluation benchmark measures: `minilm` (BENCH_SERVING_MODEL, e.g. `tiny` for a quick look)
// trained once with the real prepare job and trainer on the review sample (bench/support/sample-model.ts, cached under
// .local/bench/sample-model/MODEL), or BENCH_SERVING_TRAIN_DIR, a train attempt folder (model/ and checkpoints/). BENCH_SERVING_DURATION (seconds per server and load level, default 15),
// BENCH_SERVING_THREADS (default: every core), BENCH_SERVING_SOAK (requests, default 10000).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { closedLoop, summarize, type LoadResult } from "./closed-loop.ts";
import {
  cpuSeconds,
  rssMiB,
  startFlaskBaseline,
  startPredictServer,
  stopServer,
  type Running,
} from "./servers.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { cleanText } from "../../gpu-jobs/prepare/clean-text.ts";
import { loadServedModel } from "../../serving/load-served-model.ts";
import { prepareInstance } from "../../serving/prepare-instance.ts";
import type { ServingInstance } from "../../serving/predict-request.ts";
import { ROOT, ensureSampleModel, samplePath, trainerPython } from "../support/sample-model.ts";

const MODEL = process.env.BENCH_SERVING_MODEL ?? "minilm";
/** The benchmark's own outputs (the result file), one folder per model. */
const WORK = join(ROOT, ".local/bench/serving", MODEL);
const THREADS = Number(process.env.BENCH_SERVING_THREADS ?? availableParallelism());
const DURATION = Number(process.env.BENCH_SERVING_DURATION ?? 15);
const SOAK = Number(process.env.BENCH_SERVING_SOAK ?? 10_000);
const CONCURRENCY = [1, 8, 32];
const ROUNDS = 3;
const log = new JsonLogger({ labels: { component: "bench:serving" }, minSeverity: "WARNING" });

/** A train attempt folder (local path) with model/ and checkpoints/: given, or the shared sample model. */
async function ensureModel(): Promise<{ trainDir: string; py: string }> {
  const given = process.env.BENCH_SERVING_TRAIN_DIR;
  if (given) {
    for (const f of ["model/model.onnx", "model/model.int8.onnx", "checkpoints/checkpoint.pt"])
      if (!existsSync(join(given, f))) throw new Error(`BENCH_SERVING_TRAIN_DIR ${given} has no ${f}`);
    console.log(`using the model in ${given}`);
    return { trainDir: resolve(given), py: trainerPython() };
  }
  const { trainDir, py } = await ensureSampleModel(MODEL, log);
  return { trainDir, py };
}

interface SampleReview {
  title: string | null;
  text: string;
  price: number | null;
}

/** The sample's reviews, raw (HTML and all) as a caller would send them; rows with no text left are skipped. */
function sampleReviews(): SampleReview[] {
  return readFileSync(samplePath(), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { title?: unknown; text?: unknown; price?: unknown })
    .filter((r) => typeof r.text === "string" && cleanText(r.text) !== "")
    .map((r) => ({
      title: typeof r.title === "string" ? r.title : null,
      text: r.text as string,
      price: typeof r.price === "number" ? r.price : null,
    }));
}

const asInstance = (r: SampleReview): ServingInstance => ({
  text: r.text,
  title: r.title,
  price: r.price,
  helpfulVote: null,
  verifiedPurchase: null,
});

/** Predicted labels of every review with the int8 and the fp32 model, in process, through the serving code. */
async function agreement(
  modelDir: string,
  reviews: SampleReview[],
): Promise<{ agree: number; rows: number }> {
  const labels: string[][] = [];
  for (const quantized of [true, false]) {
    const served = await loadServedModel(
      parseConfig({
        serving: { modelUri: modelDir, quantized, batchWindowMs: 0, workers: 0, threads: THREADS },
      }).serving,
      {
        store: () => {
          throw new Error("local model");
        },
        registry: () => {
          throw new Error("local model");
        },
        modelLine: "bench",
        log,
      },
    );
    const out: string[] = [];
    for (let i = 0; i < reviews.length; i += 64) {
      const chunk = reviews.slice(i, i + 64);
      const inputs = chunk.map((r, k) =>
        prepareInstance(asInstance(r), served.model.metadata.features, `r${i + k}`),
      );
      out.push(...(await served.predict(inputs)).map((p) => p.label));
    }
    await served.release();
    labels.push(out);
  }
  const [int8, fp32] = labels as [string[], string[]];
  return { agree: int8.filter((l, i) => l === fp32[i]).length, rows: reviews.length };
}

interface Load extends LoadResult {
  server: string;
  /** CPU time the server process used during the level. */
  cpuSeconds: number;
  /** Answers other than 200 (none are expected: every request is valid). */
  non200: number;
}

/** One load level: `connections` clients, each sending the next review of the sample as soon as it has its answer. */
async function load(s: Running, bodies: string[], connections: number, seconds: number): Promise<Load> {
  const cpuBefore = cpuSeconds(s.child.pid!);
  const r = await closedLoop({
    url: s.url,
    connections,
    seconds,
    next: (i) => ({ method: "POST", path: "/predict", body: bodies[i % bodies.length]! }),
  });
  const cpu = cpuSeconds(s.child.pid!) - cpuBefore;
  const non200 = Object.entries(r.byStatus).reduce((n, [code, k]) => n + (code === "200" ? 0 : k), 0);
  return { ...r, server: s.name, non200, cpuSeconds: cpu };
}

/** autocannon's view of the same load, to check the closed-loop client against a standard tool. */
async function autocannonLoad(
  s: Running,
  bodies: string[],
  connections: number,
  seconds: number,
): Promise<{ throughput: number; p50: number; p99: number; non2xx: number; errors: number }> {
  let next = 0;
  const r = await autocannon({
    url: `${s.url}/predict`,
    connections,
    duration: seconds,
    timeout: 60,
    method: "POST",
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          headers: { "content-type": "application/json" },
          body: bodies[next++ % bodies.length]!,
        }),
      },
    ],
  });
  return {
    throughput: r["2xx"] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

const ms = (x: number): string => x.toFixed(1);
const cpuPer = (l: Load): string => ((1000 * l.cpuSeconds) / Math.max(1, l.requests)).toFixed(1);

interface Soak {
  requests: number;
  byStatus: Record<string, number>;
  errors: number;
  seconds: number;
  rss: { start: number; firstTenth: number; lastTenth: number; max: number; end: number; byTenth: number[] };
}

/** 10,000 requests at concurrency 8, a fixed mix of valid and invalid ones; server memory sampled throughout. */
async function soak(s: Running, bodies: string[], amount: number): Promise<Soak> {
  const valid = (i: number): string => bodies[i % bodies.length]!;
  const several = (i: number): string =>
    JSON.stringify({
      instances: Array.from(
        { length: 1 + (i % 8) },
        (_, k) => JSON.parse(valid(i + k)) as { instances: unknown[] },
      ).map((b) => b.instances[0]),
    });
  type Req = { method: "GET" | "POST"; path: string; body?: string };
  const textOf = (i: number): string =>
    (JSON.parse(valid(i)) as { instances: { text: string }[] }).instances[0]!.text;
  // Half valid (one review, several reviews, the texts form), half refused (each kind of 4xx) or health checks.
  const mix: ((i: number) => Req)[] = [
    (i) => ({ method: "POST", path: "/predict", body: valid(i) }),
    (i) => ({ method: "POST", path: "/predict", body: valid(i) }),
    (i) => ({ method: "POST", path: "/predict", body: valid(i) }),
    (i) => ({ method: "POST", path: "/predict", body: valid(i) }),
    (i) => ({ method: "POST", path: "/predict", body: several(i) }),
    (i) => ({ method: "POST", path: "/predict", body: several(i) }),
    (i) => ({ method: "POST", path: "/predict", body: JSON.stringify({ texts: [textOf(i)] }) }),
    () => ({ method: "GET", path: "/health" }),
    () => ({ method: "POST", path: "/predict", body: '{"instances": [{"text": "unfinished' }),
    () => ({ method: "POST", path: "/predict", body: '{"instances": [{"text": 12, "price": "cheap"}]}' }),
    () => ({ method: "POST", path: "/predict", body: '{"instances": []}' }),
    () => ({ method: "POST", path: "/predict", body: '{"reviews": ["wrong key"]}' }),
    () => ({
      method: "POST",
      path: "/predict",
      body: JSON.stringify({ texts: Array.from({ length: 65 }, () => "x") }),
    }),
    () => ({ method: "POST", path: "/predict", body: '{"instances": [{"text": "<br/> <p></p>"}]}' }),
    () => ({ method: "GET", path: "/predict" }),
    () => ({ method: "GET", path: "/no-such-route" }),
  ];
  // One request in 50 is a body over the 1.5 MB limit (1.6 MB each).
  const oversized = JSON.stringify({ texts: ["x".repeat(1_600_000)] });
  const pid = s.child.pid!;
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(rssMiB(pid)), 200);
  const start = rssMiB(pid);
  let n = 0;
  const r = await autocannon({
    url: s.url,
    connections: 8,
    amount,
    timeout: 60,
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (req) => {
          const i = n++;
          const r: Req =
            i % 50 === 49 ? { method: "POST", path: "/predict", body: oversized } : mix[i % mix.length]!(i);
          // Fresh headers each time: autocannon writes Content-Length into the headers object it is given, and a
          // GET must not inherit the last POST's.
          return {
            ...req,
            headers: { "content-type": "application/json" },
            method: r.method,
            path: r.path,
            body: r.body,
          };
        },
      },
    ],
  });
  clearInterval(timer);
  const end = rssMiB(pid);
  const tenth = Math.max(1, Math.floor(samples.length / 10));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const byStatus: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) byStatus[code] = v.count ?? 0;
  return {
    requests: r.requests.sent,
    byStatus,
    errors: r.errors,
    seconds: r.duration,
    rss: {
      start,
      firstTenth: mean(samples.slice(0, tenth)),
      lastTenth: mean(samples.slice(-tenth)),
      max: Math.max(...samples),
      end,
      // Means per tenth of the soak, when it lasted long enough to sample each tenth (samples every 200 ms).
      byTenth: Array.from({ length: samples.length >= 10 ? 10 : 0 }, (_, k) =>
        mean(
          samples.slice(Math.floor((k * samples.length) / 10), Math.floor(((k + 1) * samples.length) / 10)),
        ),
      ),
    },
  };
}

async function serverBatches(
  s: Running,
): Promise<{ batches: number; requests: number; rows: number } | null> {
  const res = await fetch(`${s.url}/health`);
  const body = (await res.json()) as { batches?: { batches: number; requests: number; rows: number } };
  return body.batches ?? null;
}

function ortVersion(): string {
  return (
    JSON.parse(readFileSync(join(ROOT, "node_modules/onnxruntime-node/package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const { py, trainDir } = await ensureModel();
  const modelDir = join(trainDir, "model");
  const reviews = sampleReviews();
  const bodies = reviews.map((r) =>
    JSON.stringify({ instances: [{ title: r.title, text: r.text, price: r.price }] }),
  );
  const load0 = loadavg();
  console.log(
    `model ${MODEL} (${modelDir}), ${reviews.length} sample reviews, ${THREADS} threads per server, load average ${load0.map((x) => x.toFixed(2)).join(" ")}`,
  );

  console.log("int8 / fp32 agreement on the sample ...");
  const agree = await agreement(modelDir, reviews);

  const servers: Running[] = [];
  try {
    // Every server gets THREADS CPUs' worth of threads: the baseline's torch threads, the predict server's
    // single-threaded inference workers (its default), or one session with THREADS threads on the main thread.
    const nodeEnv = (quantized: boolean, port: number, mainThread = false): NodeJS.ProcessEnv => ({
      ...process.env,
      MODEL_URI: modelDir,
      PORT: String(port),
      SERVING_QUANTIZED: String(quantized),
      SERVING_WORKERS: mainThread ? "0" : String(THREADS),
      SERVING_THREADS: mainThread ? String(THREADS) : "1",
    });
    console.log("starting the servers one at a time (cold start: process start to first answer) ...");
    servers.push(
      await startFlaskBaseline(
        "Flask + PyTorch (one forward pass per request)",
        py,
        trainDir,
        MODEL,
        THREADS,
      ),
    );
    servers.push(await startPredictServer("predict server, onnxruntime int8", (port) => nodeEnv(true, port)));
    servers.push(
      await startPredictServer("predict server, onnxruntime fp32", (port) => nodeEnv(false, port)),
    );
    servers.push(
      await startPredictServer("predict server, onnxruntime int8, batches on the main thread", (port) =>
        nodeEnv(true, port, true),
      ),
    );
    const [baseline, int8] = servers as [Running, Running, Running, Running];

    for (const s of servers) await load(s, bodies, 4, 2); // warm-up: caches, allocator, JIT
    // Each level runs in ROUNDS short rounds, the servers' order rotating, so that a burst of load from the
    // machine's other users falls on all of them alike; a server's figures pool its rounds.
    const loads: Load[] = [];
    for (const c of CONCURRENCY) {
      const runs = new Map<Running, Load[]>(servers.map((s) => [s, []]));
      const batches = new Map<Running, { runs: number; rows: number }>(
        servers.map((s) => [s, { runs: 0, rows: 0 }]),
      );
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < servers.length; k++) {
          const s = servers[(k + round) % servers.length]!;
          const before = s === baseline ? null : await serverBatches(s);
          runs.get(s)!.push(await load(s, bodies, c, DURATION / ROUNDS));
          const after = s === baseline ? null : await serverBatches(s);
          if (before && after) {
            batches.get(s)!.runs += after.batches - before.batches;
            batches.get(s)!.rows += after.rows - before.rows;
          }
        }
      }
      for (const s of servers) {
        const merged = summarize(c, runs.get(s)!);
        const l: Load = {
          ...merged,
          server: s.name,
          cpuSeconds: runs.get(s)!.reduce((t, r) => t + r.cpuSeconds, 0),
          non200: Object.entries(merged.byStatus).reduce((n, [code, k]) => n + (code === "200" ? 0 : k), 0),
        };
        loads.push(l);
        const b = batches.get(s)!;
        const perBatch = b.runs > 0 ? `, ${(b.rows / b.runs).toFixed(1)} rows per ONNX run` : "";
        console.log(
          `  c=${c} ${s.name}: ${l.throughput.toFixed(1)} req/s, p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, ${cpuPer(l)} CPU ms per request, non-200 ${l.non200}, errors ${l.errors}${perBatch}`,
        );
      }
    }
    console.log("autocannon cross-check: the int8 server at concurrency 8 ...");
    const cross = await autocannonLoad(int8, bodies, 8, DURATION / ROUNDS);

    console.log(`soak: ${SOAK} mixed requests at concurrency 8 against the int8 server ...`);
    const soaked = await soak(int8, bodies, SOAK);
    const load1 = loadavg();

    const find = (s: Running, c: number): Load =>
      loads.find((l) => l.server === s.name && l.connections === c)!;
    console.log(
      `\n| server | cold start (s) | c | req/s | p50 (ms) | p99 (ms) | server CPU ms / request | req/s vs baseline | CPU / request vs baseline |`,
    );
    console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|`);
    for (const c of CONCURRENCY) {
      const base = find(baseline, c);
      for (const s of servers) {
        const l = find(s, c);
        const cpuRatio = l.cpuSeconds / l.requests / (base.cpuSeconds / base.requests);
        console.log(
          `| ${s.name} | ${(s.coldStartMs / 1000).toFixed(1)} | ${c} | ${l.throughput.toFixed(1)} | ${ms(l.p50)} | ${ms(l.p99)} | ${cpuPer(l)} | ${(l.throughput / base.throughput).toFixed(2)}x | ${cpuRatio.toFixed(2)} |`,
        );
      }
    }
    const b8 = find(baseline, 8);
    const i8 = find(int8, 8);
    const goals = {
      throughputX: i8.throughput / b8.throughput,
      throughputGoal: i8.throughput >= 4 * b8.throughput,
      p99VsBaselineP50: `${ms(i8.p99)} ms vs ${ms(b8.p50)} ms`,
      latencyGoal: i8.p99 <= b8.p50,
      agreement: agree.agree / agree.rows,
      agreementGoal: agree.agree / agree.rows >= 0.99,
      soakNo5xx: Object.entries(soaked.byStatus).every(([k]) => !k.startsWith("5")) && soaked.errors === 0,
      soakMemoryGrowthMiB: soaked.rss.lastTenth - soaked.rss.firstTenth,
    };
    console.log(
      `\nint8 vs fp32 agreement: ${agree.agree} of ${agree.rows} reviews (${(100 * goals.agreement).toFixed(2)}%)`,
    );
    console.log(
      `soak: ${soaked.requests} requests in ${soaked.seconds} s, statuses ${JSON.stringify(soaked.byStatus)}, connection errors ${soaked.errors}; ` +
        `server RSS MiB start ${soaked.rss.start.toFixed(0)}, first tenth ${soaked.rss.firstTenth.toFixed(0)}, last tenth ${soaked.rss.lastTenth.toFixed(0)}, max ${soaked.rss.max.toFixed(0)}, end ${soaked.rss.end.toFixed(0)}; by tenth of the soak ${soaked.rss.byTenth.map((x) => x.toFixed(0)).join(" ")}`,
    );
    console.log(
      `goals at concurrency 8: throughput ${goals.throughputX.toFixed(2)}x baseline (>= 4x: ${goals.throughputGoal}); int8 p99 vs baseline p50 ${goals.p99VsBaselineP50} (${goals.latencyGoal}); ` +
        `agreement >= 99%: ${goals.agreementGoal}; soak without 5xx: ${goals.soakNo5xx}`,
    );
    console.log(
      `autocannon cross-check, int8 at c=8: ${cross.throughput.toFixed(1)} req/s, p50 ${ms(cross.p50)} ms, p99 ${ms(cross.p99)} ms ` +
        `(closed-loop client: ${i8.throughput.toFixed(1)} req/s, p50 ${ms(i8.p50)} ms, p99 ${ms(i8.p99)} ms); non-2xx ${cross.non2xx}, errors ${cross.errors}`,
    );
    console.log(
      `load average before ${load0.map((x) => x.toFixed(2)).join(" ")}, after ${load1.map((x) => x.toFixed(2)).join(" ")}; onnxruntime-node ${ortVersion()}, ${THREADS} threads per server; ${DURATION} s per server and load level in ${ROUNDS} rotating rounds`,
    );
    writeFileSync(
      join(WORK, "result.json"),
      JSON.stringify(
        {
          model: MODEL,
          modelDir,
          threads: THREADS,
          duration: DURATION,
          loadAverage: { before: load0, after: load1 },
          coldStartMs: Object.fromEntries(servers.map((s) => [s.name, s.coldStartMs])),
          loads: loads.map(({ latencies: _, ...l }) => l),
          autocannonCrossCheck: cross,
          agreement: agree,
          soak: soaked,
          goals,
        },
        null,
        2,
      ),
    );
  } finally {
    for (const s of servers) await stopServer(s);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
