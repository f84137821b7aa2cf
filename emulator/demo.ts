// `npm run demo`: one whole run in this process on the local-folder bucket, printed step by step as it happens.
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { loadConfig } from "../schemas/load-config.ts";
import type { PipelineConfigInput } from "../schemas/config.ts";
import type { PipelineEvent } from "../events/catalogue.ts";
import type { RunState } from "../schemas/run-state.ts";
import { JsonLogger } from "../platform/json-logger.ts";
import { EmbeddedRuntime, WaitStopped } from "./embedded/runtime.ts";
import { describeEvent } from "./describe-event.ts";
import { demoInput } from "./demo-input.ts";
import { runExperimentName } from "../schemas/mlflow-names.ts";
import { parseOptions as parseCommandLine } from "../schemas/suggest.ts";
import { modelLineMetadata } from "../events/object-notification.ts";
import {
  runExperimentUrl,
  startLocalMlflow,
  type LocalMlflowServer,
} from "../tracking/local-mlflow-server.ts";

const USAGE = `usage: npm run demo -- [--input FILE | --scenario clean|lowf1|biased --rows N --seed S] [--model tiny|minilm|ID]
                     [--model-line LINE] [--trials N] [--timeout 30m] [--json] [--verbose] [--emulators] [--no-mlflow]
  --model-line  the model line the run's model joins (e.g. books-3class), set as the upload's model-line custom
             metadata; by default the config's training.modelLine, else <base model>-<label scheme>
  --timeout  stop waiting after this long (90s, 20m, 2h; default: wait until the run ends). Ctrl-C stops waiting too;
             either way the run's jobs stop, its trail records the interruption, and
             \`npm run cli -- retrigger RUN --from STEP --reason TEXT\` resumes it.`;

// A mistyped flag names the closest known one; the usage follows.
const { values } = (() => {
  try {
    return parseCommandLine({
      options: {
        input: { type: "string" },
        scenario: { type: "string", default: "clean" },
        rows: { type: "string", default: "2000" },
        seed: { type: "string", default: "7" },
        model: { type: "string", default: "tiny" },
        "model-line": { type: "string" },
        trials: { type: "string" },
        timeout: { type: "string" },
        json: { type: "boolean", default: false },
        verbose: { type: "boolean", default: false },
        emulators: { type: "boolean", default: false },
        "no-mlflow": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

if (values.emulators) {
  // The emulator mode lives with the emulator stack; imported by path so the embedded demo never loads it.
  const stackDemo = "./stack/demo.ts";
  const { runEmulatorDemo } = (await import(stackDemo)) as {
    runEmulatorDemo: (options: typeof values) => Promise<number>;
  };
  process.exitCode = await runEmulatorDemo(values);
} else {
  process.exitCode = await runEmbeddedDemo();
}

/** `90s`, `20m`, `2h` or plain seconds, in milliseconds; an Error naming the value otherwise. */
function parseDuration(text: string): number | Error {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) return new Error(`--timeout ${text}: expected a duration like 90s, 20m or 2h`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "s" | "m" | "h"];
}

async function runEmbeddedDemo(): Promise<number> {
  const started = Date.now();
  const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout);
  if (timeoutMs instanceof Error) {
    console.error(timeoutMs.message);
    return 2;
  }
  const overrides: PipelineConfigInput = {
    runtime: { mode: "embedded" },
    training: { models: { bert: values.model, roberta: values.model } },
    ...(values.trials ? { search: { trials: Number(values.trials) } } : {}),
  };
  const config = loadConfig({ overrides });
  let metadata: Record<string, string> | undefined;
  try {
    metadata = modelLineMetadata(values["model-line"]);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const localRoot = resolve(config.runtime.localRoot);
  mkdirSync(join(localRoot, "logs"), { recursive: true });
  const logFile = join(localRoot, "logs", `demo-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`);
  const logStream = createWriteStream(logFile);
  const say = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  // The tracking server starts while the reviews are generated: a fresh store takes a while to create.
  const mlflowStarting =
    values["no-mlflow"] || config.runtime.mlflowTrackingUri
      ? null
      : startLocalMlflow({ dir: join(localRoot, "mlflow") }).catch((err: unknown) => err as Error);

  // Every structured line goes to the log file; warnings and errors also reach the console.
  const log = new JsonLogger({
    write: (line) => {
      logStream.write(`${line}\n`);
      const severity = /"severity":"(\w+)"/.exec(line)?.[1];
      if (values.verbose || severity === "ERROR" || severity === "WARNING" || severity === "CRITICAL")
        say(`${elapsed()}  ${severity}: ${/"message":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line}`);
    },
  });

  const input = demoInput(localRoot, values, (line) => say(`${elapsed()}  ${line}`));
  if (input instanceof Error) {
    say(input.message);
    const server = await mlflowStarting;
    if (server && !(server instanceof Error)) await server.stop();
    return 1;
  }

  let mlflow: LocalMlflowServer | null = null;
  if (mlflowStarting) {
    say(`${elapsed()}  waiting for the MLflow tracking server (${join(localRoot, "mlflow")})`);
    const server = await mlflowStarting;
    if (server instanceof Error)
      say(`${elapsed()}  WARNING: MLflow did not start, the run goes on untracked: ${server.message}`);
    else {
      mlflow = server;
      say(`${elapsed()}  MLflow tracking at ${mlflow.uri}`);
    }
  }
  const runConfig = mlflow
    ? loadConfig({
        overrides: { ...overrides, runtime: { mode: "embedded", mlflowTrackingUri: mlflow.uri } },
      })
    : config;

  const runtime = new EmbeddedRuntime({
    config: runConfig,
    log,
    onJobLine: (spec, stream, line) => {
      logStream.write(`${line}\n`);
      if (
        values.verbose ||
        /"severity":"(ERROR|CRITICAL)"/.test(line) ||
        (stream === "stderr" && !line.startsWith("{") && /error|traceback|exception|no module/i.test(line))
      ) {
        say(`${elapsed()}  [${spec.step} a${spec.attempt}] ${line}`);
      }
    },
  });
  let runId = "";
  // Batch progress arrives every few seconds; the console gets one such line a minute per step (the log has all).
  const lastBatchLine = new Map<string, number>();
  runtime.bus.observe((event: PipelineEvent) => {
    if (runId && event.runId !== runId) return;
    if (event.type === "job.progress" && event.data.unit === "batch" && !values.verbose) {
      const last = lastBatchLine.get(event.data.step) ?? 0;
      if (Date.now() - last < 60_000 && event.data.current !== event.data.total) return;
      lastBatchLine.set(event.data.step, Date.now());
    }
    const line = describeEvent(event, config.training.models);
    if (line) say(`${elapsed()}  ${line}`);
  });

  let state: RunState;
  let experiment: string | null;
  // Ctrl-C (or --timeout) stops the wait, not the process: the run's jobs are stopped and the stop is recorded.
  const stop = new AbortController();
  const onSignal = () => stop.abort("interrupted (Ctrl-C)");
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const timer =
    timeoutMs === undefined
      ? null
      : setTimeout(() => stop.abort(`--timeout ${values.timeout} reached`), timeoutMs);
  try {
    const budget = config.search.timeBudget;
    say(
      `${elapsed()}  uploading ${input} to gs://${config.runtime.bucket}/uploads/ (model ${values.model}, up to ${config.search.trials} trials${budget ? ` within a ${Math.round(budget / 60)} min tuning budget` : ""})`,
    );
    ({ runId } = await runtime.upload(input, basename(input), metadata ? { metadata } : {}));
    say(`${elapsed()}  run ${runId}: follow it from another terminal with \`npm run cli -- watch ${runId}\``);
    try {
      state = await runtime.waitForRun(runId, undefined, stop.signal);
    } catch (err) {
      if (!(err instanceof WaitStopped)) throw err;
      say(`${elapsed()}  ${err.reason}: stopping the run's jobs`);
      const stopped = await runtime.interrupt(runId, `the demo stopped waiting: ${err.reason}`);
      say("");
      say(
        `run ${runId}: interrupted after ${((Date.now() - started) / 1000).toFixed(1)} s (${stopped?.currentStep ?? "no step"} was running)`,
      );
      for (const t of stopped?.trail ?? []) say(`  - ${t.decision}`);
      say(`logs:       ${logFile}`);
      return 130;
    }
    experiment = mlflow ? await runExperimentUrl(mlflow.uri, runExperimentName(config, state), runId) : null;
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await runtime.close();
    await mlflow?.stop();
    logStream.end();
  }
  const runFolder = join(localRoot, "bucket", "runs", runId);
  say("");
  say(`run ${runId}: ${state.outcome} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const t of state.trail) say(`  - ${t.decision}`);
  say(`run folder: ${runFolder}`);
  say(`logs:       ${logFile}`);
  const report = join(runFolder, "report.html");
  say(
    `report:     ${existsSync(report) ? report : `not written (see the logs; \`npm run cli -- report ${runId}\` renders it)`}`,
  );
  if (mlflow && experiment)
    say(
      `MLflow UI:  ${experiment}  (the demo's server stopped with it; \`npm run cli -- mlflow --port ${mlflow.port}\` serves it again)`,
    );
  else
    say(`MLflow UI:  ${runConfig.runtime.mlflowTrackingUri ?? "off (--no-mlflow or MLflow did not start)"}`);
  if (values.json) process.stdout.write(`${JSON.stringify(state)}\n`);
  return state.outcome === "failed" ? 1 : 0;
}
