// Where the repository and the trainer's Python are on this machine: the local job launcher and local MLflow need both.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

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
