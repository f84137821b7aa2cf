// One whole run of the generated 2,000-row clean upload with the tiny model, embedded (in process, local folder) and
// over the emulator stack (Pub/Sub and Cloud Storage emulators, Vertex stand-in, function processes), back to back on
// the same input and config; the emulator run's time over the embedded run's is the figure of merit.
//
//   npm run bench -- pipeline-run     (BENCH_RUN_ROWS=2000, BENCH_RUN_TRIALS unset: the config's 8 trials;
//                                      BENCH_RUN_MLFLOW=1 also runs the emulator stack with its MLflow server)
//
// Times run from the upload to the run's completion; the stack's start is reported on its own line.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../schemas/load-config.ts";
import type { RunState } from "../../schemas/run-state.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { EmbeddedRuntime } from "../../emulator/embedded/runtime.ts";
import { launchStack } from "../../emulator/stack/client.ts";
import { PipelineClient } from "../../emulator/stack/pipeline-client.ts";
import { REPO_ROOT } from "../../emulator/stack/stack.ts";
import { generateReviews } from "../../gpu-jobs/prepare/generator/generate-reviews.ts";

const ROWS = Number(process.env.BENCH_RUN_ROWS ?? 2000);
const TRIALS = process.env.BENCH_RUN_TRIALS;
const WITH_MLFLOW = process.env.BENCH_RUN_MLFLOW === "1";
const WORK = join(REPO_ROOT, ".local/bench/pipeline-run");

function input(): Buffer {
  const file = join(WORK, `clean-${ROWS}-s7.jsonl`);
  if (!existsSync(file)) {
    mkdirSync(WORK, { recursive: true });
    const lines = [...generateReviews({ rows: ROWS, seed: 7, scenario: "clean" })].map((r) =>
      JSON.stringify(r),
    );
    // Written once and reused, so both modes read the same bytes.
    writeFileSync(file, `${lines.join("\n")}\n`);
  }
  return readFileSync(file);
}

const env = { MODEL: "tiny", ...(TRIALS ? { TUNING_TRIALS: TRIALS } : {}) };

async function embedded(data: Buffer): Promise<{ seconds: number; state: RunState }> {
  const root = join(WORK, "embedded");
  rmSync(root, { recursive: true, force: true });
  const config = loadConfig({ env: { ...process.env, ...env, PIPELINE_MODE: "embedded", LOCAL_ROOT: root } });
  const log = new JsonLogger({ write: () => undefined });
  const runtime = new EmbeddedRuntime({ config, log });
  try {
    const t0 = performance.now();
    const { runId } = await runtime.upload(data, `bench-${Date.now()}.jsonl`);
    const state = await runtime.waitForRun(runId);
    return { seconds: (performance.now() - t0) / 1000, state };
  } finally {
    await runtime.close();
  }
}

async function emulators(
  data: Buffer,
  mlflow: boolean,
): Promise<{ seconds: number; startSeconds: number; state: RunState }> {
  const dir = join(WORK, mlflow ? "emulators-mlflow" : "emulators");
  rmSync(dir, { recursive: true, force: true });
  const s0 = performance.now();
  const stack = await launchStack({
    detached: false,
    stateDir: dir,
    logsDir: join(dir, "logs"),
    dataDir: join(dir, "data"),
    ports: "auto",
    mlflow,
    storageBackend: "memory",
    processEnv: { ...process.env, ...env },
  });
  const startSeconds = (performance.now() - s0) / 1000;
  const client = new PipelineClient(stack.info);
  try {
    const t0 = performance.now();
    const { runId } = await client.upload(data, `bench-${Date.now()}.jsonl`);
    const state = await client.waitForRun(runId, { timeoutMs: 60 * 60_000 });
    return { seconds: (performance.now() - t0) / 1000, startSeconds, state };
  } finally {
    await client.close();
    await stack.stop();
  }
}

const data = input();
console.log(
  `${ROWS}-row clean upload, model tiny, ${TRIALS ?? "config default"} trials; upload to completion`,
);
const e = await embedded(data);
console.log(`embedded:  ${e.seconds.toFixed(1)} s (${e.state.outcome}, ${e.state.trail.length} decisions)`);
const m = await emulators(data, false);
console.log(
  `emulators: ${m.seconds.toFixed(1)} s (${m.state.outcome}, ${m.state.trail.length} decisions); stack start ${m.startSeconds.toFixed(1)} s`,
);
console.log(`emulators / embedded: ${(m.seconds / e.seconds).toFixed(2)}x`);
if (WITH_MLFLOW) {
  const w = await emulators(data, true);
  console.log(
    `emulators with MLflow tracking: ${w.seconds.toFixed(1)} s (${w.state.outcome}); stack start ${w.startSeconds.toFixed(1)} s; / embedded ${(w.seconds / e.seconds).toFixed(2)}x`,
  );
}
