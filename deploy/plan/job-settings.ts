// What the run's jobs will ask Vertex AI for, printed with the plan: machines per step and the tuning job's settings.
import type { PipelineConfig } from "../../schemas/config.ts";
import { tuningBackend, tuningWaiterMachine } from "../../gpu-jobs/specs/build-job-spec.ts";
import { distinctFamilies, maxFailedTrials, METRIC_ID } from "../../gpu-jobs/tune/tuning-job.ts";
import { JOB_STEPS } from "../../schemas/names.ts";

function machine(m: PipelineConfig["machines"]["tune"]): string {
  const gpu =
    m.acceleratorType && m.acceleratorCount > 0 ? ` + ${m.acceleratorCount}x ${m.acceleratorType}` : "";
  // Only training runs over several machines (data-parallel); the others are held to one by the config schema.
  const machines =
    m.replicaCount > 1
      ? ` x ${m.replicaCount} machines, data-parallel over ${m.replicaCount * Math.max(1, m.acceleratorCount)} processes`
      : "";
  return `${m.machineType}${gpu}${machines}${m.spot ? " (Spot)" : ""}, timeout ${m.timeoutSeconds}s`;
}

/** One line per fact, for comments at the top of the deployment plan. */
export function jobSettingsLines(config: PipelineConfig): string[] {
  const s = config.search;
  const lines = JOB_STEPS.filter((step) => step !== "tune").map(
    (step) => `${step} job: ${machine(config.machines[step])}`,
  );
  if (tuningBackend(config) === "vertex") {
    const parallel = Math.min(s.parallelTrials, s.trials);
    lines.unshift(
      `tune: Vertex AI HyperparameterTuningJob, maxTrialCount ${s.trials}, parallelTrialCount ${parallel}, ` +
        `maxFailedTrialCount ${maxFailedTrials(s.trials)}, metric ${METRIC_ID} (MAXIMIZE, best measurement), ` +
        `algorithm: Vertex default (Bayesian), early stopping: ${s.earlyStopping}`,
      `tune trials: ${machine(config.machines.tune)} each, ${parallel} at once (quota: ${parallel}x the trial's GPUs and vCPUs in the region)`,
      `tune search space: families ${distinctFamilies(s, config.training.models).join("/")}, learning rate ${s.learningRate.low}-${s.learningRate.high}` +
        `${s.learningRate.log ? " (log)" : ""}, batch sizes ${s.batchSizes.join("/")}, epochs ${s.epochs.low}-${s.epochs.high}, ` +
        `weight decay ${s.weightDecay.low}-${s.weightDecay.high}, dropout ${s.dropout.low}-${s.dropout.high}`,
      `tune job (submits the tuning job and waits): ${machine(tuningWaiterMachine(config))}`,
    );
  } else {
    lines.unshift(`tune job: ${machine(config.machines.tune)}, Optuna TPE, ${s.trials} trial(s) in sequence`);
  }
  return lines;
}
