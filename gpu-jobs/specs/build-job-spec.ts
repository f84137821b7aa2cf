// Builds the job spec of a step attempt from the run state and the config: the same spec for every launcher.
import { familyExperiments, runExperimentName } from "../../schemas/mlflow-names.ts";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { RunState } from "../../schemas/run-state.ts";
import type { JobInput } from "../../schemas/job-input.ts";
import type { JobSpec, ImageKey } from "../../schemas/job-spec.ts";
import { jobName, runDir, type JobStep } from "../../schemas/names.ts";
import { runModelLine } from "../../schemas/model-line.ts";
import { EVENT_TYPES } from "../../events/catalogue.ts";
import { topicForEvent, topicId } from "../../events/topics.ts";
import { inputToArgs } from "./job-args.ts";
import { resolve } from "node:path";

export const IMAGE_OF_STEP: Record<JobStep, ImageKey> = {
  prepare: "jobs",
  tune: "trainer",
  train: "trainer",
  evaluate: "jobs",
};

export function jobInputFor(
  config: PipelineConfig,
  state: RunState,
  step: JobStep,
  attempt: number,
): JobInput {
  // The decision core launches a step only once its prerequisites are met (functions/core/step-prerequisites.ts);
  // the builder still refuses a state without the artifacts it reads, rather than build an input from nothing.
  const { prepared, tuning, training } = state.artifacts;
  const lacking =
    step !== "prepare" && !prepared
      ? "prepared data"
      : step === "train" && !tuning
        ? "tuning result"
        : step === "evaluate" && !training
          ? "trained model"
          : null;
  if (lacking) throw new Error(`cannot build the ${step} job of ${state.runId}: the run has no ${lacking}`);
  const base = {
    runId: state.runId,
    attempt,
    correlationId: state.correlationId,
    runDir: runDir(config.runtime.bucket, state.runId),
    outDir: `${runDir(config.runtime.bucket, state.runId)}/${step}/a${attempt}`,
  };
  const t = config.training;
  const model = {
    dataDir: state.artifacts.prepared?.dataDir ?? "",
    models: { ...t.models },
    maxLength: t.maxLength,
    seed: step === "train" ? (state.trainSeed ?? t.seed) : t.seed,
    useSideFeatures: t.useSideFeatures,
    earlyStoppingPatience: t.earlyStoppingPatience,
    warmupRatio: t.warmupRatio,
    maxGradNorm: t.maxGradNorm,
    compileStep: t.compileStep,
  };
  switch (step) {
    case "prepare":
      return {
        ...base,
        step,
        input: state.artifacts.input,
        sliceColumns: [...config.rules.sliceColumns],
        data: structuredClone(config.data),
      };
    case "tune":
      return { ...base, ...model, step, search: structuredClone(config.search) };
    case "train":
      return {
        ...base,
        ...model,
        step,
        params: state.artifacts.tuning!.bestParams,
        mitigation: state.mitigation,
        int8F1Tolerance: config.training.int8F1Tolerance,
      };
    case "evaluate":
      return {
        ...base,
        step,
        dataDir: state.artifacts.prepared!.dataDir,
        modelDir: state.artifacts.training!.modelDir,
        modelLine: runModelLine(config, state, state.artifacts.training!.params.modelFamily),
        rules: structuredClone(config.rules),
        evaluation: { ...structuredClone(config.evaluation), onnx: evaluatedExport(config) },
        labels: structuredClone(config.data.labels),
      };
  }
}

/** The ONNX export evaluation runs: the served one unless the config names one. */
export function evaluatedExport(config: PipelineConfig): "int8" | "fp32" {
  const chosen = config.evaluation.onnx;
  if (chosen !== "served") return chosen;
  return config.serving.quantized ? "int8" : "fp32";
}

/** Variables a job reads from Secret Manager at start: JSON {"VAR": "projects/P/secrets/S/versions/latest"}. */
export const SECRET_ENV_VAR = "SP_SECRET_ENV";

/** The trials' image, machine and env, for the tune job that submits a Vertex AI tuning job (gpu-jobs/tune/job.ts). */
export const TUNING_TRIAL_ENV = "SP_TUNING_TRIAL";

/**
 * Environment every job gets, so it finds the same bucket, topics and emulators as the functions; `uploadModelLine` is
 * the line the run's upload named, whose experiment the trainer logs in.
 */
export function jobEnv(config: PipelineConfig, uploadModelLine?: string | null): Record<string, string> {
  const r = config.runtime;
  const env: Record<string, string> = {
    PIPELINE_MODE: r.mode,
    BUCKET: r.bucket,
    GOOGLE_CLOUD_PROJECT: r.projectId,
    GOOGLE_CLOUD_REGION: r.region,
    SP_TOPICS: JSON.stringify(
      Object.fromEntries(
        EVENT_TYPES.map((t) => [
          t,
          `projects/${r.projectId}/topics/${topicId(topicForEvent(t), r.topicPrefix)}`,
        ]),
      ),
    ),
  };
  if (r.topicPrefix) env.TOPIC_PREFIX = r.topicPrefix;
  if (r.mlflowTrackingUri) {
    env.MLFLOW_TRACKING_URI = r.mlflowTrackingUri;
    // MLflow's own variable: the run's line's experiment, where the trainer nests its runs under the pipeline run's.
    env.MLFLOW_EXPERIMENT_NAME = runExperimentName(config, { uploadModelLine });
    // Each family's line's experiment: a trial or training run is kept with the line its model would join.
    env.SP_MLFLOW_EXPERIMENTS = JSON.stringify(familyExperiments(config, uploadModelLine));
  }
  // A custom job's env holds plain values only (v1 has no secret env for custom jobs): the job gets references to
  // the secrets and reads them itself at start, as its own account (SECRET_ENV_VAR).
  if (r.mode === "gcp" && r.mlflowSecrets && Object.keys(r.mlflowSecrets).length > 0)
    env[SECRET_ENV_VAR] = JSON.stringify(
      Object.fromEntries(
        Object.entries(r.mlflowSecrets).map(([name, id]) => [
          name,
          `projects/${r.projectId}/secrets/${id}/versions/latest`,
        ]),
      ),
    );
  if (r.mode === "embedded") env.LOCAL_ROOT = resolve(r.localRoot);
  if (r.mode === "emulators") {
    if (r.pubsubEmulatorHost) env.PUBSUB_EMULATOR_HOST = r.pubsubEmulatorHost;
    if (r.storageEmulatorEndpoint) env.STORAGE_EMULATOR_ENDPOINT = r.storageEmulatorEndpoint;
    if (r.vertexEndpoint) env.VERTEX_ENDPOINT = r.vertexEndpoint;
  }
  return env;
}

/**
 * What the job's machine carries, for the trainer's check at start (gpu-jobs/trainer/sentiment_trainer/accelerator.py):
 * a job that asked for a GPU and finds no usable CUDA fails at once instead of training on the CPU at GPU prices.
 */
export function acceleratorEnv(machine: PipelineConfig["machines"][JobStep]): Record<string, string> {
  return machine.acceleratorType && machine.acceleratorCount > 0
    ? { SP_ACCELERATOR: `${machine.acceleratorType}x${machine.acceleratorCount}` }
    : {};
}

export function imageUri(config: PipelineConfig, image: ImageKey): string {
  return config.images[image]
    .replaceAll("{region}", config.runtime.region)
    .replaceAll("{project}", config.runtime.projectId);
}

/**
 * Where tuning runs: "vertex" (a Vertex AI HyperparameterTuningJob, the stand-in's on the emulators) when the config
 * asks for parallel trials outside embedded mode, else "optuna" (one job runs every trial in sequence).
 */
export function tuningBackend(config: PipelineConfig): "vertex" | "optuna" {
  return config.search.parallelTrials > 1 && config.runtime.mode !== "embedded" ? "vertex" : "optuna";
}

/**
 * The tune job itself when Vertex runs the trials: it only submits the tuning job and waits, on a small CPU machine,
 * for as long as the trials can take (each within machines.tune's timeout, parallelTrials at a time), plus an hour.
 */
export function tuningWaiterMachine(config: PipelineConfig): PipelineConfig["machines"]["tune"] {
  const s = config.search;
  const rounds = Math.ceil(s.trials / Math.min(s.parallelTrials, s.trials));
  return {
    machineType: "n1-standard-4",
    acceleratorCount: 0,
    replicaCount: 1,
    spot: false,
    bootDiskGb: 100,
    timeoutSeconds: Math.min(7 * 24 * 3600, rounds * config.machines.tune.timeoutSeconds + 3600),
  };
}

export function buildJobSpec(
  config: PipelineConfig,
  state: RunState,
  step: JobStep,
  attempt: number,
): JobSpec {
  const input = jobInputFor(config, state, step, attempt);
  if (step === "tune" && tuningBackend(config) === "vertex") {
    const trials = config.machines.tune;
    const trial = {
      imageUri: imageUri(config, "trainer"),
      machine: trials,
      env: { ...jobEnv(config, state.uploadModelLine), ...acceleratorEnv(trials) },
    };
    return {
      jobName: jobName(state.runId, step, attempt),
      runId: state.runId,
      step,
      attempt,
      image: "jobs",
      imageUri: imageUri(config, "jobs"),
      args: inputToArgs(input),
      env: { ...jobEnv(config, state.uploadModelLine), [TUNING_TRIAL_ENV]: JSON.stringify(trial) },
      machine: tuningWaiterMachine(config),
      outputDir: input.outDir,
    };
  }
  const machine = config.machines[step];
  const image = IMAGE_OF_STEP[step];
  return {
    jobName: jobName(state.runId, step, attempt),
    runId: state.runId,
    step,
    attempt,
    image,
    imageUri: imageUri(config, image),
    args: inputToArgs(input),
    env: { ...jobEnv(config, state.uploadModelLine), ...acceleratorEnv(machine) },
    // Spot only while the step has not failed: after a preemption the retry runs on demand.
    machine: { ...machine, spot: machine.spot && state.steps[step].failuresInRow === 0 },
    outputDir: input.outDir,
  };
}
