// Runs a job spec as a local process with the environment Vertex AI would give its container.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { delimiter } from "node:path";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";
import { REPO_ROOT, TRAINER_SOURCE, trainerPython } from "../../platform/local/trainer-python.ts";

/** The command that stands in for the spec's image: config.runtime.localCommands, `{python}` resolved. */
export function localCommand(config: PipelineConfig, spec: JobSpec): string[] {
  const template = config.runtime.localCommands[spec.image];
  return template.map((part) => (part === "{python}" ? trainerPython() : part));
}

/** The variables Vertex AI sets in a custom job's container. */
export function vertexEnv(spec: JobSpec, jobId: string): Record<string, string> {
  return {
    AIP_MODEL_DIR: `${spec.outputDir}/model/`,
    AIP_CHECKPOINT_DIR: `${spec.outputDir}/checkpoints/`,
    AIP_TENSORBOARD_LOG_DIR: `${spec.outputDir}/logs/`,
    CLOUD_ML_JOB_ID: jobId,
    // This machine's CPU stands in for the spec's accelerator, on purpose (the trainer's CUDA check reads it).
    ...(spec.env.SP_ACCELERATOR ? { SP_ACCELERATOR_STAND_IN: "embedded launcher (local CPU)" } : {}),
  };
}

export interface JobProcess {
  pid: number | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface StartOptions {
  command: string[];
  env: Record<string, string>;
  onLine: (stream: "stdout" | "stderr", line: string) => void;
  cwd?: string;
}

export function startJobProcess(options: StartOptions): JobProcess {
  const [cmd, ...args] = options.command;
  if (!cmd) throw new Error("empty job command");
  const env = { ...process.env, ...options.env };
  env.PYTHONPATH = [TRAINER_SOURCE, env.PYTHONPATH].filter(Boolean).join(delimiter);
  const child = spawn(cmd, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  createInterface({ input: child.stdout }).on("line", (l) => options.onLine("stdout", l));
  createInterface({ input: child.stderr }).on("line", (l) => options.onLine("stderr", l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on("error", (err) => {
      options.onLine("stderr", `could not start ${cmd}: ${err.message}`);
      res({ code: 127, signal: null });
    });
    child.on("close", (code, signal) => res({ code, signal }));
  });
  return { pid: child.pid, exited, kill: (signal = "SIGTERM") => void child.kill(signal) };
}
