// The dry run's account of the Vertex AI custom jobs a run submits: each step's worker pools, GPUs and scheduling.
import type { PipelineConfig } from "../../schemas/config.ts";
import type { JobStep } from "../../schemas/names.ts";
import { customJobOf } from "../../platform/gcp/vertex-job-launcher.ts";

const STEPS: readonly JobStep[] = ["prepare", "tune", "train", "evaluate"];

/**
 * Comment lines for the deploy script: nothing here is created at deploy time (the pipeline creates one custom job
 * per step attempt), but the worker pools decide the GPU quota a run needs and what it costs, so the plan shows them,
 * rendered by the same builder the launcher uses.
 */
export function renderJobMachines(config: PipelineConfig): string {
  const lines = [
    "# Vertex AI custom jobs each run submits (created by the pipeline at run time, not by this script):",
  ];
  let gpus = 0;
  for (const step of STEPS) {
    const m = config.machines[step];
    const job = customJobOf({
      jobName: `sp-plan-${step}-a1`,
      runId: "plan",
      step,
      attempt: 1,
      image: step === "tune" || step === "train" ? "trainer" : "jobs",
      imageUri: config.images[step === "tune" || step === "train" ? "trainer" : "jobs"],
      args: [],
      env: {},
      machine: m,
      outputDir: `gs://${config.runtime.bucket}/runs/plan/${step}/a1`,
    });
    const pools = (job.jobSpec?.workerPoolSpecs ?? []).map((p, i) => {
      const ms = p.machineSpec;
      const gpu = ms?.acceleratorCount ? ` + ${ms.acceleratorCount} x ${String(ms.acceleratorType)}` : "";
      return `workerPoolSpecs[${i}] ${String(p.replicaCount)} x ${ms?.machineType ?? "?"}${gpu} (${i === 0 ? "chief" : "workers"})`;
    });
    const stepGpus = m.acceleratorType ? m.acceleratorCount * m.replicaCount : 0;
    gpus = Math.max(gpus, stepGpus);
    const parallel =
      step === "train" && (m.replicaCount > 1 || m.acceleratorCount > 1)
        ? `; data-parallel over ${Math.max(1, m.acceleratorCount) * m.replicaCount} processes (torchrun, ${m.acceleratorCount > 0 ? "NCCL" : "gloo"})`
        : "";
    const restart = job.jobSpec?.scheduling?.restartJobOnWorkerRestart ? "; restartJobOnWorkerRestart" : "";
    lines.push(
      `#   ${step}: ${pools.join("; ")}${parallel}${restart}; ${m.spot ? "Spot" : "on-demand"}; timeout ${m.timeoutSeconds} s`,
    );
  }
  lines.push(
    `# GPU quota: the region needs at least ${gpus} GPUs of each type above in Vertex AI's "Custom model training <GPU> per region" quota (the Spot variant for Spot steps); see docs/deploy.md.`,
  );
  return `${lines.join("\n")}\n`;
}
