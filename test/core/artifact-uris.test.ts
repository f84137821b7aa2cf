// Artifact URIs in events and job arguments (issue 13, item 3): every one lies under its own run's folder in the
// pipeline's bucket, at the step and attempt that produced it. The schema refuses the shape, the decision core the
// bucket and a model other than the one the run trained, and the jobs refuse to start on anything else.
import { describe, expect, it } from "vitest";
import { EVENT_SCHEMAS, PipelineEvent } from "../../events/catalogue.ts";
import { decide } from "../../functions/core/decide.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { EvaluateJobInput, PrepareJobInput, TrainJobInput } from "../../schemas/job-input.ts";
import { argsToInput, inputToArgs } from "../../gpu-jobs/specs/job-args.ts";
import { runJob } from "../../gpu-jobs/common/job-runtime.ts";
import type { RunState } from "../../schemas/run-state.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { RecordingBus } from "../support/fakes.ts";
import * as ev from "../support/events.ts";

const HOSTILE = [
  "/etc",
  "../../../../etc",
  "file:///etc",
  "gs://other-bucket/runs/RUN/prepare/a1",
  "gs://local-bucket/runs/another-run/prepare/a1",
  "gs://local-bucket/runs/RUN/prepare/a1/../../../../etc",
  "gs://local-bucket/runs/RUN/prepare/a2",
  "gs://local-bucket/runs/RUN/tune/a1",
  "gs://local-bucket/uploads/x",
];
const hostile = (runId: string) => HOSTILE.map((u) => u.replace("RUN", runId));
const config = parseConfig({});

function stateAfter(...events: PipelineEvent[]): RunState {
  let state: RunState | null = null;
  for (const e of events) {
    const d = decide(state, e, config);
    if (d.kind !== "applied") throw new Error(`${e.type}: ${d.kind} ${d.reason}`);
    state = d.state;
  }
  return state!;
}

describe("the event schemas", () => {
  it.each(hostile(ev.RUN).filter((u) => !u.startsWith("gs://other-bucket")))(
    "refuse a data.prepared whose dataDir is %s",
    (dataDir) => {
      const e = ev.dataPrepared();
      const parsed = EVENT_SCHEMAS["data.prepared"].safeParse({ ...e, data: { ...e.data, dataDir } });
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues[0]!.path).toEqual(["data", "dataDir"]);
      expect(parsed.error!.issues[0]!.message).toMatch(/data\.dataDir must be/);
    },
  );

  it("refuse split, stats and rejected URIs outside the attempt folder", () => {
    const e = ev.dataPrepared();
    const bad = { ...e.data, statsUri: `gs://local-bucket/runs/${ev.RUN}/prepare/a2/stats.json` };
    expect(PipelineEvent.safeParse({ ...e, data: bad }).error?.issues[0]?.path).toEqual(["data", "statsUri"]);
    const split = { ...e.data.splits, test: { uri: "gs://local-bucket/etc/passwd", rows: 1 } };
    expect(PipelineEvent.safeParse({ ...e, data: { ...e.data, splits: split } }).success).toBe(false);
  });

  it("refuse a training.completed naming another run's model or another attempt's", () => {
    const e = ev.trainingCompleted(1);
    for (const modelDir of [
      "gs://local-bucket/runs/another-run/train/a1/model",
      `gs://local-bucket/runs/${ev.RUN}/train/a2/model`,
      `gs://local-bucket/runs/${ev.RUN}/train/a1`,
      "/etc",
    ]) {
      const parsed = PipelineEvent.safeParse({ ...e, data: { ...e.data, modelDir } });
      expect(parsed.success, modelDir).toBe(false);
    }
    expect(PipelineEvent.safeParse(e).success).toBe(true);
  });

  it("refuse tuning, evaluation, registration and run.started URIs that are not the run's own", () => {
    const t = ev.tuningCompleted(1);
    expect(
      PipelineEvent.safeParse({ ...t, data: { ...t.data, studyUri: "file:///etc/study.db" } }).success,
    ).toBe(false);
    const v = ev.evaluationCompleted(1);
    const metricsUri = `gs://local-bucket/runs/another-run/evaluate/a1/metrics.json`;
    expect(PipelineEvent.safeParse({ ...v, data: { ...v.data, metricsUri } }).success).toBe(false);
    const champion = { modelVersion: "1", modelUri: "/etc", overall: v.data.overall };
    expect(PipelineEvent.safeParse({ ...v, data: { ...v.data, champion } }).success).toBe(false);
    const started = ev.runStarted();
    const input = "gs://local-bucket/runs/x/../../etc";
    expect(PipelineEvent.safeParse({ ...started, data: { ...started.data, input } }).success).toBe(false);
  });
});

describe("the decision core", () => {
  it("rejects artifacts in another bucket, leaving the run waiting", () => {
    const state = stateAfter(ev.runStarted());
    const d = decide(state, ev.inBucket(ev.dataPrepared(), "other-bucket"), config);
    expect(d).toMatchObject({ kind: "rejected" });
    expect(d.kind === "rejected" && d.reason).toMatch(
      /data\.dataDir is in bucket other-bucket, not the pipeline's bucket local-bucket/,
    );
  });

  it("rejects an evaluation of a model other than the one the run trained", () => {
    const state = stateAfter(
      ev.runStarted(),
      ev.dataPrepared(),
      ev.tuningCompleted(),
      ev.trainingCompleted(),
    );
    const d = decide(state, ev.evaluationCompleted(1, { trainAttempt: 2 }), config);
    expect(d.kind === "rejected" && d.reason).toMatch(/is not the model this run trained/);
    expect(decide(state, ev.evaluationCompleted(1), config).kind).toBe("applied");
  });
});

describe("the jobs", () => {
  const runDir = `gs://local-bucket/runs/${ev.RUN}`;
  const trainBase = {
    step: "train",
    runId: ev.RUN,
    attempt: 1,
    correlationId: "c",
    runDir,
    outDir: `${runDir}/train/a1`,
    dataDir: `${runDir}/prepare/a1`,
    models: { bert: "tiny", roberta: "tiny" },
    maxLength: 64,
    seed: 1,
    useSideFeatures: true,
    earlyStoppingPatience: 1,
    warmupRatio: 0.1,
    maxGradNorm: 1,
    params: ev.PARAMS,
    mitigation: null,
  };

  it.each(
    hostile(ev.RUN).filter(
      (u) => !u.startsWith("gs://local-bucket/runs/RUN/prepare/a2".replace("RUN", ev.RUN)),
    ),
  )("refuse a dataDir of %s", (dataDir) => {
    expect(TrainJobInput.safeParse({ ...trainBase, dataDir }).success).toBe(false);
  });

  it("refuse a modelDir that is not one of the run's train attempts, and local or foreign folders", () => {
    const base = {
      ...trainBase,
      step: "evaluate",
      outDir: `${runDir}/evaluate/a1`,
      rules: config.rules,
      modelLine: "bert-base-uncased-3class",
    };
    const evaluation = { ...config.evaluation, onnx: "int8" };
    const ok = EvaluateJobInput.safeParse({ ...base, modelDir: `${runDir}/train/a2/model`, evaluation });
    expect(ok.error?.issues).toBeUndefined();
    for (const modelDir of [
      "/etc",
      "gs://local-bucket/runs/another-run/train/a1/model",
      `${runDir}/prepare/a1/x`,
    ])
      expect(EvaluateJobInput.safeParse({ ...base, modelDir, evaluation }).success, modelDir).toBe(false);
  });

  it("refuse a run folder of another run, an output folder of another attempt, and an upload outside the bucket", () => {
    expect(
      TrainJobInput.safeParse({ ...trainBase, runDir: "gs://local-bucket/runs/another-run" }).success,
    ).toBe(false);
    expect(TrainJobInput.safeParse({ ...trainBase, outDir: `${runDir}/train/a2` }).success).toBe(false);
    const prepare = {
      step: "prepare",
      runId: ev.RUN,
      attempt: 1,
      correlationId: "c",
      runDir,
      outDir: `${runDir}/prepare/a1`,
      sliceColumns: [],
      data: config.data,
    };
    expect(
      PrepareJobInput.safeParse({ ...prepare, input: "gs://local-bucket/uploads/r.jsonl" }).success,
    ).toBe(true);
    for (const input of ["/etc/passwd", "file:///etc/passwd", "gs://other-bucket/uploads/r.jsonl"])
      expect(PrepareJobInput.safeParse({ ...prepare, input }).success, input).toBe(false);
  });

  it("carry training.compileStep as its bare value, and refuse a mode the trainer does not know", () => {
    const args = inputToArgs(TrainJobInput.parse({ ...trainBase, compileStep: "graphs" })).slice(1);
    expect(args[args.indexOf("--compile-step") + 1]).toBe("graphs");
    expect(argsToInput("train", args).compileStep).toBe("graphs");
    const at = args.indexOf("--compile-step");
    const bad = [...args.slice(0, at + 1), "fast", ...args.slice(at + 2)];
    expect(() => argsToInput("train", bad)).toThrow(/--compile-step: /);
    // Older inputs without the field still parse: the trainer then uses "auto".
    expect(
      argsToInput("train", inputToArgs(TrainJobInput.parse(trainBase)).slice(1)).compileStep,
    ).toBeUndefined();
  });

  it("exit 2 when the arguments name --data-dir /etc, and when the run folder is in another bucket", async () => {
    const args = inputToArgs(TrainJobInput.parse(trainBase)).slice(1);
    const at = args.indexOf("--data-dir");
    const evil = [...args.slice(0, at + 1), "/etc", ...args.slice(at + 2)];
    expect(() => argsToInput("train", evil)).toThrow(/--data-dir: .*must be this run's prepare folder/);
    const log = new CapturingLogger();
    const deps = {
      config: parseConfig({ runtime: { bucket: "pipeline-bucket" } }),
      bus: new RecordingBus(),
      log,
      env: {},
    };
    const body = () => Promise.reject(new Error("must not run"));
    expect(await runJob("train", evil, body, deps)).toBe(2);
    expect(await runJob("train", args, body, deps)).toBe(2);
    expect(log.at("ERROR").at(-1)!.message).toMatch(
      /--run-dir gs:\/\/local-bucket\/runs\/.* is not this pipeline's run folder gs:\/\/pipeline-bucket/,
    );
  });
});
