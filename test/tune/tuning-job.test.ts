// The tune step's Vertex AI HyperparameterTuningJob: the v1 request the official client sends, and its trials read back.
import { describe, expect, it } from "vitest";
import { protos } from "@google-cloud/aiplatform";
import { PipelineConfig } from "../../schemas/config.ts";
import {
  METRIC_ID,
  studySpecOf,
  summariseTrials,
  trialArgs,
  tuningJobOf,
} from "../../gpu-jobs/tune/tuning-job.ts";
import type { TuneJobInput } from "../../schemas/job-input.ts";

const HPT = protos.google.cloud.aiplatform.v1.HyperparameterTuningJob;

function input(search: Partial<PipelineConfig["search"]> = {}): TuneJobInput {
  const config = PipelineConfig.parse({ search: { trials: 6, parallelTrials: 3, ...search } });
  return {
    step: "tune",
    runId: "r1",
    attempt: 1,
    correlationId: "r1",
    runDir: "gs://b/runs/r1",
    outDir: "gs://b/runs/r1/tune/a1",
    dataDir: "gs://b/runs/r1/prepare/a1",
    models: { bert: "minilm", roberta: "minilm" },
    maxLength: 64,
    seed: 13,
    useSideFeatures: false,
    earlyStoppingPatience: 2,
    warmupRatio: 0.1,
    maxGradNorm: 1,
    search: config.search,
  };
}

const trialSpec = {
  workerPoolSpecs: [
    {
      machineSpec: {
        machineType: "g2-standard-8",
        acceleratorType: "NVIDIA_L4" as const,
        acceleratorCount: 1,
      },
      replicaCount: 1,
      containerSpec: { imageUri: "r/trainer:1", args: ["trial", "--run-id", "r1"] },
    },
  ],
};

describe("the tuning job request", () => {
  it("is a v1 HyperparameterTuningJob that survives the proto unchanged (no unknown or mistyped field)", () => {
    const job = tuningJobOf(input(), "sp-r1-tune-a1", trialSpec, { run_id: "r1", step: "tune" });
    const decoded = HPT.toObject(HPT.decode(HPT.encode(HPT.fromObject(job)).finish()), {
      enums: String,
      longs: Number,
    });
    expect(decoded).toEqual(JSON.parse(JSON.stringify(job)));
    expect(job).toMatchObject({ maxTrialCount: 6, parallelTrialCount: 3, maxFailedTrialCount: 3 });
  });

  it("maximises the metric the trials report, on their best measurement, with median early stopping", () => {
    const spec = studySpecOf(input().search, input().models);
    expect(spec.metrics).toEqual([{ metricId: METRIC_ID, goal: "MAXIMIZE" }]);
    expect(spec.measurementSelectionType).toBe("BEST_MEASUREMENT");
    expect(spec.medianAutomatedStoppingSpec).toEqual({ useElapsedDuration: false });
    expect(spec.decayCurveStoppingSpec).toBeUndefined();
    const none = studySpecOf(input({ earlyStopping: "none" }).search, input().models);
    expect(none.medianAutomatedStoppingSpec).toBeUndefined();
    const decay = studySpecOf(input({ earlyStopping: "decayCurve" }).search, input().models);
    expect(decay.decayCurveStoppingSpec).toEqual({ useElapsedDuration: false });
  });

  it("maps the search space onto Vertex parameter specs with their scales", () => {
    const spec = studySpecOf(
      input({
        learningRate: { low: 1e-5, high: 1e-3, log: true },
        dropout: { low: 0, high: 0.3, log: true },
        batchSizes: [64, 16, 64],
        epochs: { low: 2, high: 2 },
      }).search,
      { bert: "minilm", roberta: "minilm" },
    );
    const byId: Record<string, (typeof spec.parameters & object)[number]> = Object.fromEntries(
      (spec.parameters ?? []).map((p) => [String(p.parameterId), p]),
    );
    // Both families name the same model: one choice, as Optuna's search has it.
    expect(byId.model_family).toEqual({
      parameterId: "model_family",
      categoricalValueSpec: { values: ["bert"] },
    });
    expect(byId.learning_rate).toMatchObject({
      doubleValueSpec: { minValue: 1e-5, maxValue: 1e-3 },
      scaleType: "UNIT_LOG_SCALE",
    });
    // A log range starting at 0 cannot be log-scaled.
    expect(byId.dropout?.scaleType).toBe("UNIT_LINEAR_SCALE");
    expect(byId.batch_size?.discreteValueSpec).toEqual({ values: [16, 64] });
    expect(byId.epochs).toEqual({ parameterId: "epochs", discreteValueSpec: { values: [2] } });
    expect(Object.keys(byId).sort()).toEqual(
      ["batch_size", "dropout", "epochs", "learning_rate", "model_family", "weight_decay"].sort(),
    );
  });

  it("runs the trainer's trial entry point with the tune job's own arguments", () => {
    expect(trialArgs(["tune", "--run-id", "r1"])).toEqual(["trial", "--run-id", "r1"]);
    expect(() => trialArgs(["train", "--run-id", "r1"])).toThrow(/tune arguments/);
  });
});

const num = (parameterId: string, numberValue: number) => ({ parameterId, value: { numberValue } });
function trial(id: string, state: string, value: number | null, family = "bert") {
  return {
    id,
    state,
    parameters: [
      { parameterId: "model_family", value: { stringValue: family } },
      num("learning_rate", 1e-4),
      num("batch_size", 16),
      num("epochs", 2),
      num("weight_decay", 0.01),
      num("dropout", 0.1),
    ],
    ...(value === null
      ? {}
      : { finalMeasurement: { stepCount: 4, metrics: [{ metricId: METRIC_ID, value }] } }),
  } as never;
}

describe("the finished trials", () => {
  it("name the best trial, and count completed, stopped and failed ones", () => {
    const s = summariseTrials(
      [
        trial("1", "SUCCEEDED", 0.7),
        trial("2", "SUCCEEDED", 0.9),
        trial("3", "SUCCEEDED", 0.5),
        trial("4", "INFEASIBLE", null),
        trial("5", "STOPPING", 0.4),
      ],
      new Set(["3"]),
    );
    expect(s.best.id).toBe("2");
    expect(s.best.params).toEqual({
      modelFamily: "bert",
      learningRate: 1e-4,
      batchSize: 16,
      epochs: 2,
      weightDecay: 0.01,
      dropout: 0.1,
    });
    expect(s).toMatchObject({ trials: 4, completedTrials: 2, prunedTrials: 2, failedTrials: 1 });
  });

  it("refuse to choose when no trial reported the metric", () => {
    expect(() => summariseTrials([trial("1", "INFEASIBLE", null)])).toThrow(/no tuning trial reported/);
  });

  it("skip a trial whose parameters are not the pipeline's", () => {
    const s = summariseTrials([trial("1", "SUCCEEDED", 0.99, "gpt"), trial("2", "SUCCEEDED", 0.6)]);
    expect(s.best.id).toBe("2");
  });
});
