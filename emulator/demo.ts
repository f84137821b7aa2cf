// `npm run demo`: one whole run in this process on the local-folder bucket, printed step by step as it happens.
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../schemas/load-config.ts";
import type { PipelineConfigInput } from "../schemas/config.ts";
import type { PipelineEvent } from "../events/catalogue.ts";
import type { RunState } from "../schemas/run-state.ts";
import { JsonLogger } from "../functions/adapters/json-logger.ts";
import { EmbeddedRuntime } from "./embedded/runtime.ts";
import { describeEvent } from "./describe-event.ts";
import { demoInput } from "./demo-input.ts";
import {
  runExperimentUrl,
  startLocalMlflow,
  type LocalMlflowServer,
} from "../tracking/local-mlflow-server.ts";

const USAGE = `usage: npm run demo -- [--input FILE | --scenario clean|lowf1|biased --rows N --seed S] [--model tiny|minilm|ID]
                     [--trials N] [--json] [--verbose] [--emulators] [--no-mlflow]`;

const { values } = parseArgs({
  options: {
    input: { type: "string" },
    scenario: { type: "string", default: "clean" },
    rows: { type: "string", default: "2000" },
    seed: { type: "string", default: "7" },
    model: { type: "string", default: "tiny" },
    trials: { type: "string" },
    json: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    emulators: { type: "boolean", default: false },
    "no-mlflow": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  strict: true,
});
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

async function runEmbeddedDemo(): Promise<number> {
  const started = Date.now();
  const overrides: PipelineConfigInput = {
    runtime: { mode: "embedded" },
    training: { models: { bert: values.model, roberta: values.model } },
    ...(values.trials ? { search: { trials: Number(values.trials) } } : {}),
  };
  const config = loadConfig({ overrides });
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
  runtime.bus.observe((event: PipelineEvent) => {
    if (runId && event.runId !== runId) return;
    const line = describeEvent(event);
    if (line) say(`${elapsed()}  ${line}`);
  });

  let state: RunState;
  let experiment: string | null;
  try {
    say(
      `${elapsed()}  uploading ${input} to gs://${config.runtime.bucket}/uploads/ (model ${values.model}, ${config.search.trials} trials)`,
    );
    ({ runId } = await runtime.upload(input, basename(input)));
    say(`${elapsed()}  run ${runId}: follow it from another terminal with \`npm run cli -- watch ${runId}\``);
    state = await runtime.waitForRun(runId);
    experiment = mlflow ? await runExperimentUrl(mlflow.uri, runId) : null;
  } finally {
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
