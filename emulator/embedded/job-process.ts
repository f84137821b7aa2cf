// Runs a job spec as a local process with the environment Vertex AI would give its container.
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
/** The trainer's package: installed in its image, a folder on PYTHONPATH locally. */
export const TRAINER_SOURCE = join(REPO_ROOT, "gpu-jobs", "trainer");

let cachedPython: string | undefined;

/** The trainer's Python: SP_TRAINER_PYTHON when set, else the environment `gpu-jobs/trainer/scripts/ensure-venv.sh` makes. */
export function trainerPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SP_TRAINER_PYTHON) return env.SP_TRAINER_PYTHON;
  if (cachedPython) return cachedPython;
  const script = join(REPO_ROOT, "gpu-jobs", "trainer", "scripts", "ensure-venv.sh");
  if (!existsSync(script)) throw new Error(`the trainer's environment script is missing: ${script}`);
  const r = spawnSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const path = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !path)
    throw new Error(`could not create the trainer's Python environment (${script} exited ${r.status})`);
  cachedPython = path;
  return path;
}

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
