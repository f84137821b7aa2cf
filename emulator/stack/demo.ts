// `npm run demo -- --emulators`: the same run as the embedded demo, through the emulator stack and the official clients.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { PipelineEvent } from "../../events/catalogue.ts";
import type { RunState } from "../../schemas/run-state.ts";
import { describeEvent } from "../describe-event.ts";
import { demoInput } from "../demo-input.ts";
import { modelLineMetadata } from "../../events/object-notification.ts";
import { launchStack, type StackHandle } from "./client.ts";
import { PipelineClient } from "./pipeline-client.ts";

export interface EmulatorDemoOptions {
  input?: string | undefined;
  scenario: string;
  rows: string;
  seed: string;
  model: string;
  "model-line"?: string | undefined;
  trials?: string | undefined;
  json: boolean;
  verbose: boolean;
  "no-mlflow"?: boolean | undefined;
}

export async function runEmulatorDemo(values: EmulatorDemoOptions): Promise<number> {
  const started = Date.now();
  const say = (line: string): void => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  const localRoot = resolve(process.env.LOCAL_ROOT ?? ".local");

  let metadata: Record<string, string> | undefined;
  try {
    metadata = modelLineMetadata(values["model-line"]);
  } catch (err) {
    say((err as Error).message);
    return 2;
  }
  const input = demoInput(localRoot, values, (line) => say(`${elapsed()}  ${line}`));
  if (input instanceof Error) {
    say(input.message);
    return 1;
  }

  const dir = join(localRoot, "emulators", `demo-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  say(
    `${elapsed()}  starting the emulator stack (Pub/Sub, Cloud Storage, Vertex AI stand-in, functions, MLflow); logs in ${join(dir, "logs")}`,
  );
  let stack: StackHandle;
  try {
    stack = await launchStack({
      detached: false,
      stateDir: dir,
      logsDir: join(dir, "logs"),
      dataDir: join(dir, "data"),
      ports: "auto",
      storageBackend: "filesystem",
      mlflow: values["no-mlflow"] !== true,
      // The demo's choices reach every function and job through the environment, as deployed config does.
      processEnv: {
        ...process.env,
        MODEL: values.model,
        ...(values.trials ? { TUNING_TRIALS: values.trials } : {}),
      },
    });
  } catch (err) {
    say((err as Error).message);
    return 1;
  }
  const client = new PipelineClient(stack.info);
  let state: RunState;
  let runId = "";
  try {
    say(
      `${elapsed()}  stack ready: Pub/Sub ${stack.info.endpoints.pubsub}, Cloud Storage ${stack.info.endpoints.storage}, Vertex ${stack.info.endpoints.vertex}`,
    );
    const pending: PipelineEvent[] = [];
    await client.watchEvents((event) => {
      if (!event) return;
      if (!runId) pending.push(event);
      else if (event.runId === runId) print(event);
    });
    const print = (event: PipelineEvent): void => {
      if (event.type === "job.progress" && !values.verbose) return;
      const line = describeEvent(event);
      if (line) say(`${elapsed()}  ${line}`);
    };
    say(
      `${elapsed()}  uploading ${input} to gs://${client.bucket}/uploads/ (model ${values.model}${metadata ? `, model line ${values["model-line"]}` : ""})`,
    );
    const upload = await client.upload(
      readFileSync(input),
      `${basename(input, ".jsonl")}-${Date.now().toString(36)}.jsonl`,
      metadata ? { metadata } : {},
    );
    runId = upload.runId;
    for (const e of pending.splice(0)) if (e.runId === runId) print(e);
    state = await client.waitForRun(runId);
    // Let the last events reach the watcher before the stack goes.
    await new Promise((r) => setTimeout(r, 500));
    const { jobs } = await client.vertexJobs();
    say("");
    say(`run ${runId}: ${state.outcome} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const t of state.trail) say(`  - ${t.decision}`);
    say("Vertex AI custom jobs:");
    for (const j of jobs.filter((x) => x.labels.run_id === runId))
      say(`  ${j.displayName.padEnd(60)} ${j.state}`);
    if (state.artifacts.registration) {
      say(
        `registered: ${state.artifacts.registration.modelResource} version ${state.artifacts.registration.version} (${state.artifacts.registration.alias})`,
      );
    }
    say(
      `run folder: gs://${client.bucket}/runs/${runId} (on disk under ${join(dir, "data", "gcs", client.bucket, "runs", runId)})`,
    );
    say(`logs:       ${join(dir, "logs")}`);
    // report-run renders the report when run.completed reaches it; give its function host a moment.
    const reportUri = `gs://${client.bucket}/runs/${runId}/report.html`;
    for (let i = 0; i < 60 && !(await client.store.stat(reportUri)); i++)
      await new Promise((r) => setTimeout(r, 500));
    if (await client.store.stat(reportUri)) {
      const local = join(dir, `report-${runId}.html`);
      writeFileSync(local, await client.store.read(reportUri));
      say(`report:     ${local} (from ${reportUri})`);
    } else say(`report:     not written yet; \`npm run cli -- report ${runId} --mode emulators\` renders it`);
    if (values.json) process.stdout.write(`${JSON.stringify(state)}\n`);
  } finally {
    await client.close();
    await stack.stop();
  }
  return state.outcome === "failed" ? 1 : 0;
}
