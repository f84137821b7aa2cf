// The tune job with parallel trials: it submits the tuning job to the Vertex stand-in, waits, and reports as Optuna does.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { v1 } from "@google-cloud/aiplatform";
import { PipelineConfig } from "../../schemas/config.ts";
import { TuneJobInput } from "../../schemas/job-input.ts";
import { makeEvent } from "../../events/codec.ts";
import { TuningCompleted } from "../../events/catalogue.ts";
import { VertexStandIn } from "../../emulator/vertex/server.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import type { Replica, ReplicaLauncher, ReplicaSpec } from "../../emulator/vertex/replica-launcher.ts";
import { vertexClientOptions } from "../../platform/gcp/vertex-client-options.ts";
import { customJobOf, JOB_ACCOUNT_ENV } from "../../platform/gcp/vertex-job-launcher.ts";
import { buildJobSpec, tuningBackend } from "../../gpu-jobs/specs/build-job-spec.ts";
import { jobInputFor } from "../../gpu-jobs/specs/build-job-spec.ts";
import { makeTuneJob, tuningJobName, TRIAL_ENV } from "../../gpu-jobs/tune/job.ts";
import type { JobContext } from "../../gpu-jobs/common/job-runtime.ts";
import { initialState } from "../../functions/core/run-state.ts";
import * as ev from "../support/events.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";

const BUCKET = "local-bucket";

/** Trials that report `value(id)` per epoch in the hypertune file and write their summary, as trial.py does. */
class FakeTrials implements ReplicaLauncher {
  running = 0;
  maxRunning = 0;
  constructor(
    private readonly store: LocalObjectStore,
    private readonly values: Record<string, number[]>,
    private readonly stopped: Set<string>,
  ) {}

  start(spec: ReplicaSpec): Replica {
    const id = spec.vertexEnv.CLOUD_ML_TRIAL_ID!;
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const outDir = spec.container.args[spec.container.args.indexOf("--out-dir") + 1]!;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      setTimeout(() => {
        const path = spec.vertexEnv.CLOUD_ML_HP_METRIC_FILE!;
        mkdirSync(dirname(path), { recursive: true });
        const reports = this.values[id] ?? [];
        writeFileSync(
          path,
          reports
            .map(
              (v, i) =>
                `${JSON.stringify({ global_step: String(i + 1), validation_weighted_f1: String(v), trial: id })}\n`,
            )
            .join(""),
        );
        const checkpoint = `${outDir}/trials/${id}/best-trial/checkpoint.pt`;
        const summary = JSON.stringify({ trialId: id, stopped: this.stopped.has(id), checkpoint });
        void this.store.write(`${outDir}/trials/${id}/trial.json`, summary).then(() => {
          this.running -= 1;
          resolve({ code: 0, signal: null });
        });
      }, 150),
    );
    return { pid: 1, exited, kill: () => undefined };
  }
}

/**
 * Trials as trial.py runs them under Vertex's early stopping: 1 and 3 report two epochs and finish; 2 reports one poor
 * epoch once 1 has finished, then trains on until it is told to stop, when it writes its summary with `stopped`.
 */
class StoppableTrials implements ReplicaLauncher {
  readonly signals: string[] = [];
  private firstDone!: () => void;
  private readonly first = new Promise<void>((r) => (this.firstDone = r));
  constructor(private readonly store: LocalObjectStore) {}

  start(spec: ReplicaSpec): Replica {
    const id = spec.vertexEnv.CLOUD_ML_TRIAL_ID!;
    const outDir = spec.container.args[spec.container.args.indexOf("--out-dir") + 1]!;
    const report = (values: number[]): void => {
      const path = spec.vertexEnv.CLOUD_ML_HP_METRIC_FILE!;
      mkdirSync(dirname(path), { recursive: true });
      const line = (v: number, i: number): string =>
        `${JSON.stringify({ global_step: String(i + 1), validation_weighted_f1: String(v), trial: id, timestamp: Date.now() / 1000 })}\n`;
      writeFileSync(path, values.map(line).join(""));
    };
    const summary = (stopped: boolean): Promise<unknown> =>
      this.store.write(`${outDir}/trials/${id}/trial.json`, JSON.stringify({ trialId: id, stopped }));
    let end!: (r: { code: number | null; signal: NodeJS.Signals | null }) => void;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => (end = r));
    if (id === "2") {
      void this.first.then(() => setTimeout(() => report([0.2]), 50));
      // Without early stopping it would finish on its own, unstopped, well after the others.
      const self = setTimeout(() => void summary(false).then(() => end({ code: 0, signal: null })), 8000);
      return {
        pid: 2,
        exited,
        kill: (signal) => {
          this.signals.push(`${id}:${signal}`);
          clearTimeout(self);
          void summary(true).then(() => end({ code: 143, signal: null }));
        },
      };
    }
    report(id === "1" ? [0.6, 0.7] : [0.8, 0.75]);
    void summary(false).then(() => {
      end({ code: 0, signal: null });
      if (id === "1") this.firstDone();
    });
    return { pid: Number(id), exited, kill: (signal) => this.signals.push(`${id}:${signal}`) };
  }
}

let standIn: VertexStandIn | null = null;
afterEach(async () => {
  await standIn?.close();
  standIn = null;
});

function configFor(endpoint: string): PipelineConfig {
  return PipelineConfig.parse({
    search: {
      trials: 3,
      parallelTrials: 2,
      epochs: { low: 2, high: 2 },
      batchSizes: [32],
      modelFamilies: ["bert"],
    },
    training: { models: { bert: "tiny", roberta: "tiny" } },
    runtime: {
      mode: "emulators",
      bucket: BUCKET,
      projectId: "local-project",
      region: "us-central1",
      vertexEndpoint: endpoint,
    },
  });
}

const R = ev.RUN;

function preparedState() {
  const state = initialState(ev.runStarted());
  state.artifacts.prepared = { dataDir: `gs://${BUCKET}/runs/${R}/prepare/a1` } as never;
  return state;
}

/** The tune job's context and a Vertex client, both pointed at the stand-in; `emitted` collects what the job publishes. */
function tuneJobOn(endpoint: string, store: LocalObjectStore) {
  const config = configFor(endpoint);
  const state = preparedState();
  const spec = buildJobSpec(config, state, "tune", 1);
  const emitted: Array<{ type: string; data: unknown }> = [];
  const ctx: JobContext<"tune"> = {
    input: TuneJobInput.parse(jobInputFor(config, state, "tune", 1)),
    config,
    store,
    bus: { publish: () => Promise.resolve("id") } as never,
    log: new CapturingLogger(),
    emit: (type, data) => {
      emitted.push({ type, data });
      return Promise.resolve();
    },
    progress: () => Promise.resolve(),
  };
  const client = new v1.JobServiceClient(
    vertexClientOptions({ projectId: "local-project", region: "us-central1", endpoint }),
  );
  return { config, state, spec, emitted, ctx, client };
}

describe("the tune job with parallel trials", () => {
  it("is chosen by search.parallelTrials outside embedded mode, on a small machine that carries the trials' setup", () => {
    const config = configFor("127.0.0.1:1");
    const state = preparedState();
    const spec = buildJobSpec(config, state, "tune", 1);
    expect(tuningBackend(config)).toBe("vertex");
    expect(spec).toMatchObject({ image: "jobs", args: expect.arrayContaining(["tune"]) as unknown });
    expect(spec.machine).toMatchObject({ machineType: "n1-standard-4", acceleratorCount: 0 });
    // Two rounds of trials (3 at 2 a time), each within machines.tune's timeout, plus an hour.
    expect(spec.machine.timeoutSeconds).toBe(2 * config.machines.tune.timeoutSeconds + 3600);
    const trial = JSON.parse(spec.env[TRIAL_ENV]!) as {
      imageUri: string;
      machine: { acceleratorType: string };
    };
    expect(trial.imageUri).toMatch(/trainer/);
    expect(trial.machine.acceleratorType).toBe(config.machines.tune.acceleratorType);
    const one = PipelineConfig.parse({ ...config, search: { ...config.search, parallelTrials: 1 } });
    expect(tuningBackend(one)).toBe("optuna");
    expect(buildJobSpec(one, state, "tune", 1).image).toBe("trainer");
    const embedded = PipelineConfig.parse({ ...config, runtime: { ...config.runtime, mode: "embedded" } });
    expect(tuningBackend(embedded)).toBe("optuna");
  });

  it("runs the trials two at a time and ends in the tuning.completed the Optuna study sends", async () => {
    const root = mkdtempSync(join(tmpdir(), "sp-tune-job-"));
    const store = new LocalObjectStore(BUCKET, root);
    const trials = new FakeTrials(store, { "1": [0.6, 0.7], "2": [0.5], "3": [0.8, 0.75] }, new Set(["2"]));
    standIn = await VertexStandIn.start({
      launcher: trials,
      log: new CapturingLogger(),
      port: 0,
      adminPort: null,
    });
    const { spec, emitted, ctx, client } = tuneJobOn(standIn.endpoint, store);
    // The tune job runs as its deployed account, which the launcher names in its environment.
    const account = "sp-job-tune@local-project.iam.gserviceaccount.com";
    const env = Object.fromEntries(
      customJobOf(spec, account).jobSpec!.workerPoolSpecs![0]!.containerSpec!.env!.map((e) => [
        e.name!,
        e.value!,
      ]),
    );
    expect(env[JOB_ACCOUNT_ENV]).toBe(account);
    await makeTuneJob({ client, env, pollMs: 50 })(ctx);

    expect(trials.maxRunning).toBe(2);
    const [done] = emitted.filter((e) => e.type === "tuning.completed");
    const event = TuningCompleted.parse(
      makeEvent("tuning.completed", { runId: R, attempt: 1, correlationId: R }, done!.data as never),
    );
    // The same fields as tune.py's event (its pytest checks them against the same schema).
    expect(Object.keys(event.data).sort()).toEqual(
      [
        "baseModel",
        "bestParams",
        "bestValue",
        "completedTrials",
        "outDir",
        "prunedTrials",
        "studyUri",
        "trials",
      ].sort(),
    );
    expect(event.data).toMatchObject({
      outDir: `gs://${BUCKET}/runs/${R}/tune/a1`,
      studyUri: `gs://${BUCKET}/runs/${R}/tune/a1/study.json`,
      trials: 3,
      completedTrials: 2,
      prunedTrials: 1,
      bestValue: 0.8,
      baseModel: "tiny",
    });
    expect(event.data.bestParams).toMatchObject({ modelFamily: "bert", batchSize: 32, epochs: 2 });
    // Its trials run as that account too (deploy grants it actAs on itself), not as Vertex's agent.
    const study = JSON.parse(
      (await store.read(`gs://${BUCKET}/runs/${R}/tune/a1/study.json`)).toString(),
    ) as { trialJobSpec: { serviceAccount: string } };
    expect(study.trialJobSpec.serviceAccount).toBe(account);
    const summary = JSON.parse(
      (await store.read(`gs://${BUCKET}/runs/${R}/tune/a1/tuning.json`)).toString(),
    ) as Record<string, unknown>;
    expect(summary).toMatchObject({
      bestTrial: "3",
      bestCheckpoint: `gs://${BUCKET}/runs/${R}/tune/a1/trials/3/best-trial/checkpoint.pt`,
    });
    const csv = (await store.read(`gs://${BUCKET}/runs/${R}/tune/a1/trials.csv`))
      .toString()
      .trim()
      .split("\n");
    expect(csv.slice(1).map((l) => l.split(",").slice(0, 2).join(","))).toEqual([
      "1,COMPLETE",
      "2,PRUNED",
      "3,COMPLETE",
    ]);

    // A restarted tune job finds the same tuning job by name instead of submitting a second one.
    emitted.length = 0;
    await makeTuneJob({ client, env: spec.env, pollMs: 50 })(ctx);
    const [listed] = await client.listHyperparameterTuningJobs({
      parent: "projects/local-project/locations/us-central1",
      filter: `display_name="${tuningJobName(R, 1)}"`,
    });
    expect(listed).toHaveLength(1);
    expect(emitted.filter((e) => e.type === "tuning.completed")).toHaveLength(1);
    await client.close();
  });

  it("counts a trial the stand-in's median rule stopped as pruned in tuning.completed", async () => {
    const root = mkdtempSync(join(tmpdir(), "sp-tune-job-"));
    const store = new LocalObjectStore(BUCKET, root);
    const trials = new StoppableTrials(store);
    standIn = await VertexStandIn.start({
      launcher: trials,
      log: new CapturingLogger(),
      port: 0,
      adminPort: null,
      measurementPollMs: 20,
    });
    const { config, spec, emitted, ctx, client } = tuneJobOn(standIn.endpoint, store);
    expect(config.search.earlyStopping).toBe("median");
    await makeTuneJob({ client, env: spec.env, pollMs: 50 })(ctx);
    await client.close();

    expect(trials.signals).toEqual(["2:SIGTERM"]);
    const [done] = emitted.filter((e) => e.type === "tuning.completed");
    expect(done!.data).toMatchObject({ trials: 3, completedTrials: 2, prunedTrials: 1, bestValue: 0.8 });
    const study = JSON.parse(
      (await store.read(`gs://${BUCKET}/runs/${R}/tune/a1/study.json`)).toString(),
    ) as {
      trials: Array<{ id: string; state: string; finalMeasurement: { metrics: Array<{ value: number }> } }>;
    };
    const stopped = study.trials.find((t) => t.id === "2")!;
    expect(stopped.state).toBe("SUCCEEDED");
    expect(stopped.finalMeasurement.metrics[0]!.value).toBe(0.2);
    const csv = (await store.read(`gs://${BUCKET}/runs/${R}/tune/a1/trials.csv`)).toString();
    expect(csv).toMatch(/^2,PRUNED,0.2,/m);
  });
});
