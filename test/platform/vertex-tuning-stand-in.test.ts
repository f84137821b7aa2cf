// The stand-in's HyperparameterTuningJob through the official client: parallel trials, hypertune metrics, failures.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { v1 } from "@google-cloud/aiplatform";
import { VertexStandIn } from "../../emulator/vertex/server.ts";
import type { Replica, ReplicaLauncher, ReplicaSpec } from "../../emulator/vertex/replica-launcher.ts";
import { vertexClientOptions } from "../../platform/gcp/vertex-client-options.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { eventually } from "./vertex-stand-in-support.ts";

const PARENT = "projects/local-project/locations/us-central1";
const METRIC = "validation_weighted_f1";

/**
 * Trials as scripted replicas: each waits until the test ends it, having written the given hypertune reports. A
 * signal ends one (143 for SIGTERM, as the trainer exits) unless the test told it to ignore SIGTERM.
 */
class ScriptedTrials implements ReplicaLauncher {
  readonly started: ReplicaSpec[] = [];
  readonly running = new Map<string, (code: number | null, signal?: NodeJS.Signals) => void>();
  readonly signals: Array<[string, NodeJS.Signals]> = [];
  readonly ignoreTerm = new Set<string>();
  maxRunning = 0;

  start(spec: ReplicaSpec): Replica {
    this.started.push(spec);
    let end!: (r: { code: number | null; signal: NodeJS.Signals | null }) => void;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => (end = r));
    const id = spec.vertexEnv.CLOUD_ML_TRIAL_ID!;
    this.running.set(id, (code, signal) => {
      this.running.delete(id);
      end({ code, signal: signal ?? null });
    });
    this.maxRunning = Math.max(this.maxRunning, this.running.size);
    const kill = (signal: NodeJS.Signals): void => {
      this.signals.push([id, signal]);
      if (signal === "SIGKILL") this.running.get(id)?.(null, "SIGKILL");
      else if (!this.ignoreTerm.has(id)) this.running.get(id)?.(143);
    };
    return { pid: 1, exited, kill };
  }

  /** Writes the trial's reports in the cloudml-hypertune format, then ends it with `code`. */
  finish(id: string, values: number[], code = 0): void {
    this.report(id, values);
    this.running.get(id)!(code);
  }

  /** Writes the trial's reports so far (epochs 1, 2, ...) in the cloudml-hypertune format; the trial runs on. */
  report(id: string, values: number[]): void {
    const path = this.started.find((s) => s.vertexEnv.CLOUD_ML_TRIAL_ID === id)!.vertexEnv
      .CLOUD_ML_HP_METRIC_FILE!;
    mkdirSync(dirname(path), { recursive: true });
    const lines = values.map((v, i) =>
      JSON.stringify({
        checkpoint_path: "",
        global_step: String(i + 1),
        [METRIC]: String(v),
        timestamp: 1,
        trial: id,
      }),
    );
    writeFileSync(path, lines.map((l) => `${l}\n`).join(""));
  }
}

let standIn: VertexStandIn | null = null;
afterEach(async () => {
  await standIn?.close();
  standIn = null;
});

async function start(): Promise<{
  client: InstanceType<typeof v1.JobServiceClient>;
  trials: ScriptedTrials;
}> {
  const trials = new ScriptedTrials();
  standIn = await VertexStandIn.start({
    launcher: trials,
    log: new CapturingLogger(),
    port: 0,
    adminPort: null,
    // Trials' reports are read every 20 ms; a stopped trial gets 0.2 s before SIGKILL.
    measurementPollMs: 20,
    graceSeconds: 0.2,
  });
  const client = new v1.JobServiceClient(
    vertexClientOptions({ projectId: "local-project", region: "us-central1", endpoint: standIn.endpoint }),
  );
  return { client, trials };
}

function request(overrides: Record<string, unknown> = {}) {
  return {
    displayName: "sp-r1-tune-a1-trials",
    labels: { run_id: "r1" },
    studySpec: {
      metrics: [{ metricId: METRIC, goal: "MAXIMIZE" as const }],
      parameters: [
        { parameterId: "model_family", categoricalValueSpec: { values: ["bert", "roberta"] } },
        {
          parameterId: "learning_rate",
          doubleValueSpec: { minValue: 1e-5, maxValue: 1e-3 },
          scaleType: "UNIT_LOG_SCALE" as const,
        },
        { parameterId: "epochs", integerValueSpec: { minValue: 2, maxValue: 3 } },
      ],
      measurementSelectionType: "BEST_MEASUREMENT" as const,
      medianAutomatedStoppingSpec: { useElapsedDuration: false },
    },
    maxTrialCount: 5,
    parallelTrialCount: 2,
    maxFailedTrialCount: 2,
    trialJobSpec: {
      workerPoolSpecs: [
        {
          machineSpec: { machineType: "n1-standard-4" },
          replicaCount: 1,
          containerSpec: { imageUri: "r/trainer:1", args: ["trial", "--run-id", "r1"] },
        },
      ],
      baseOutputDirectory: { outputUriPrefix: "gs://b/runs/r1/tune/a1" },
    },
    ...overrides,
  };
}

/** One trial of a tuning job as the API shows it now. */
async function trialOfJob(client: InstanceType<typeof v1.JobServiceClient>, name: string, id: string) {
  const [got] = await client.getHyperparameterTuningJob({ name });
  return got.trials!.find((t) => t.id === id)!;
}

describe("the Vertex stand-in's hyperparameter tuning jobs", () => {
  it("run parallelTrialCount trials at a time until maxTrialCount, each with its parameters as --name=value flags", async () => {
    const { client, trials } = await start();
    const [job] = await client.createHyperparameterTuningJob({
      parent: PARENT,
      hyperparameterTuningJob: request(),
    });
    await eventually(() => trials.running.size === 2, 5000, "two trials running");
    // Two run; the third waits for a free slot.
    await new Promise((r) => setTimeout(r, 100));
    expect(trials.started).toHaveLength(2);
    trials.finish("1", [0.6, 0.7]);
    await eventually(() => trials.started.length === 3, 5000, "a third trial");
    trials.finish("2", [0.8, 0.75]);
    trials.finish("3", [0.5]);
    await eventually(() => trials.started.length === 5, 5000, "all trials started");
    trials.finish("4", [0.55]);
    trials.finish("5", [0.65]);
    const [done] = await eventually(
      async () => {
        const got = await client.getHyperparameterTuningJob({ name: job.name! });
        return got[0].state === "JOB_STATE_SUCCEEDED" ? got : null;
      },
      5000,
      "the job to succeed",
    );
    expect(trials.maxRunning).toBe(2);
    const first = trials.started[0]!;
    expect(first.container.args.slice(0, 3)).toEqual(["trial", "--run-id", "r1"]);
    expect(first.container.args.slice(3).map((a) => a.split("=")[0])).toEqual([
      "--model_family",
      "--learning_rate",
      "--epochs",
    ]);
    const lr = Number(first.container.args[4]!.split("=")[1]);
    expect(lr).toBeGreaterThanOrEqual(1e-5);
    expect(lr).toBeLessThanOrEqual(1e-3);
    expect(first.vertexEnv).toMatchObject({
      CLOUD_ML_TRIAL_ID: "1",
      AIP_MODEL_DIR: "gs://b/runs/r1/tune/a1/1/model/",
    });
    expect(done.trials).toHaveLength(5);
    const t2 = done.trials!.find((t) => t.id === "2")!;
    // BEST_MEASUREMENT: the trial's best report, not its last.
    expect(t2.finalMeasurement?.metrics?.[0]).toMatchObject({ metricId: METRIC, value: 0.8 });
    expect(t2.measurements?.map((m) => Number(m.stepCount))).toEqual([1, 2]);
    expect(t2.state).toBe("SUCCEEDED");
    const epochs = done.trials!.map(
      (t) => t.parameters!.find((p) => p.parameterId === "epochs")!.value!.numberValue,
    );
    for (const e of epochs) expect([2, 3]).toContain(e);
    const [listed] = await client.listHyperparameterTuningJobs({
      parent: PARENT,
      filter: 'display_name="sp-r1-tune-a1-trials"',
    });
    expect(listed.map((j) => j.name)).toEqual([job.name]);
    await client.close();
  });

  it("marks a trial without a metric or with a failed replica infeasible, and fails the job at maxFailedTrialCount", async () => {
    const { client, trials } = await start();
    const [job] = await client.createHyperparameterTuningJob({
      parent: PARENT,
      hyperparameterTuningJob: request(),
    });
    await eventually(() => trials.running.size === 2, 5000, "two trials running");
    trials.finish("1", []);
    trials.finish("2", [0.7], 1);
    const done = await eventually(
      async () => {
        const [got] = await client.getHyperparameterTuningJob({ name: job.name! });
        return got.state === "JOB_STATE_FAILED" ? got : null;
      },
      5000,
      "the job to fail",
    );
    expect(done.trials!.map((t) => [t.id, t.state])).toEqual(
      expect.arrayContaining([
        ["1", "INFEASIBLE"],
        ["2", "INFEASIBLE"],
      ]),
    );
    expect(done.trials!.find((t) => t.id === "1")!.infeasibleReason).toMatch(
      /reported no validation_weighted_f1/,
    );
    expect(done.error?.message).toMatch(/trial\(s\) failed/);
    await client.close();
  });

  it("cancels: running trials are stopped and the job ends CANCELLED", async () => {
    const { client, trials } = await start();
    const [job] = await client.createHyperparameterTuningJob({
      parent: PARENT,
      hyperparameterTuningJob: request(),
    });
    await eventually(() => trials.running.size === 2, 5000, "two trials running");
    await client.cancelHyperparameterTuningJob({ name: job.name! });
    const done = await eventually(
      async () => {
        const [got] = await client.getHyperparameterTuningJob({ name: job.name! });
        return got.state === "JOB_STATE_CANCELLED" ? got : null;
      },
      5000,
      "the job to be cancelled",
    );
    expect(trials.started).toHaveLength(2);
    expect(done.trials!.every((t) => t.state === "INFEASIBLE")).toBe(true);
    await expect(client.cancelHyperparameterTuningJob({ name: job.name! })).rejects.toThrow(/already/);
    await client.close();
  });

  it("stops a trial whose best value is below the median of the completed trials' running averages, as Vertex records it", async () => {
    const { client, trials } = await start();
    const [job] = await client.createHyperparameterTuningJob({
      parent: PARENT,
      hyperparameterTuningJob: request({ maxTrialCount: 3 }),
    });
    const trialOf = (id: string) => trialOfJob(client, job.name!, id);
    await eventually(() => trials.running.size === 2, 5000, "two trials running");
    trials.finish("1", [0.6, 0.7]);
    await eventually(async () => (await trialOf("1")).state === "SUCCEEDED", 5000, "trial 1 to succeed");
    // Trial 2 ignores SIGTERM: the API shows it STOPPING until the grace period ends and it is killed.
    trials.ignoreTerm.add("2");
    trials.report("2", [0.2]);
    const stopping = await eventually(
      async () => ((await trialOf("2")).state === "STOPPING" ? trialOf("2") : null),
      5000,
      "trial 2 to be stopping",
    );
    expect(stopping.measurements!.map((m) => [Number(m.stepCount), m.metrics![0]!.value])).toEqual([
      [1, 0.2],
    ]);
    await eventually(() => !trials.running.has("2"), 5000, "trial 2 to be killed");
    expect(trials.signals.filter(([id]) => id === "2").map(([, s]) => s)).toEqual(["SIGTERM", "SIGKILL"]);
    // Trial 3 is above the median (of 0.6, trial 1's average at step 1, and 0.2, stopped trial 2's): it runs on.
    await eventually(() => trials.running.has("3"), 5000, "trial 3 to start");
    trials.report("3", [0.65]);
    await eventually(async () => (await trialOf("3")).measurements!.length === 1, 5000, "trial 3's report");
    expect((await trialOf("3")).state).toBe("ACTIVE");
    trials.finish("3", [0.65, 0.72]);
    const [done] = await eventually(
      async () => {
        const got = await client.getHyperparameterTuningJob({ name: job.name! });
        return got[0].state === "JOB_STATE_SUCCEEDED" ? got : null;
      },
      5000,
      "the job to succeed",
    );
    // A stopped trial completes with its measurements: SUCCEEDED, its final measurement picked from them.
    const t2 = done.trials!.find((t) => t.id === "2")!;
    expect(t2.state).toBe("SUCCEEDED");
    expect(t2.finalMeasurement?.metrics?.[0]).toMatchObject({ metricId: METRIC, value: 0.2 });
    expect(t2.finalMeasurement?.stepCount).toBe("1");
    expect(done.trials!.map((t) => t.state)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    expect(trials.signals.filter(([id]) => id !== "2")).toEqual([]);
    await client.close();
  });

  it("never stops a trial when the study sets no stopping spec, and shows its measurements while it runs", async () => {
    const { client, trials } = await start();
    const studySpec = { ...request().studySpec, medianAutomatedStoppingSpec: null };
    const [job] = await client.createHyperparameterTuningJob({
      parent: PARENT,
      hyperparameterTuningJob: request({ maxTrialCount: 2, studySpec }),
    });
    const trialOf = (id: string) => trialOfJob(client, job.name!, id);
    await eventually(() => trials.running.size === 2, 5000, "two trials running");
    trials.finish("1", [0.6, 0.7]);
    await eventually(async () => (await trialOf("1")).state === "SUCCEEDED", 5000, "trial 1 to succeed");
    trials.report("2", [0.2]);
    // Once the stand-in has read the report it has decided: the median rule would stop this trial here.
    const seen = await eventually(
      async () => ((await trialOf("2")).measurements!.length === 1 ? trialOf("2") : null),
      5000,
      "trial 2's report",
    );
    expect(seen.state).toBe("ACTIVE");
    trials.report("2", [0.2, 0.25]);
    await eventually(
      async () => (await trialOf("2")).measurements!.length === 2,
      5000,
      "trial 2's second report",
    );
    expect(trials.running.has("2")).toBe(true);
    trials.finish("2", [0.2, 0.25]);
    await eventually(async () => (await trialOf("2")).state === "SUCCEEDED", 5000, "trial 2 to succeed");
    expect(trials.signals).toEqual([]);
    await client.close();
  });

  it("refuses what Vertex refuses, naming the field", async () => {
    const { client } = await start();
    const bad = request({ parallelTrialCount: 0 });
    await expect(
      client.createHyperparameterTuningJob({ parent: PARENT, hyperparameterTuningJob: bad }),
    ).rejects.toThrow(/parallel_trial_count must be positive/);
    const log = request();
    log.studySpec.parameters[1] = {
      parameterId: "learning_rate",
      doubleValueSpec: { minValue: 0, maxValue: 1 },
      scaleType: "UNIT_LOG_SCALE",
    };
    await expect(
      client.createHyperparameterTuningJob({ parent: PARENT, hyperparameterTuningJob: log }),
    ).rejects.toThrow(/UNIT_LOG_SCALE needs a positive min_value/);
    await client.close();
  });
});
