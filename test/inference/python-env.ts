// Finds the trainer's Python environment and the shared review sample for tests that cross into Python.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
const ENSURE = join(REPO_ROOT, "gpu-jobs/trainer/scripts/ensure-venv.sh");
const LOCK = join(REPO_ROOT, "gpu-jobs/trainer/requirements.lock");
const underCi = process.env.CI === "true";

export type Found = { path: string; skip: null } | { path: null; skip: string };

/**
 * The trainer venv's python. Under CI it must exist (setup.sh creates it). Elsewhere, only an already built venv is
 * used (building one installs torch, too slow for a test run): otherwise the test is skipped with how to build it.
 */
export function trainerPython(): Found {
  if (process.env.SP_TEST_PYTHON) return { path: process.env.SP_TEST_PYTHON, skip: null };
  if (!existsSync(ENSURE)) return missing(`the trainer's ${ENSURE} is not there yet`);
  if (!underCi && !venvBuilt()) {
    return missing(
      "the trainer's Python venv is not built: run `bash gpu-jobs/trainer/scripts/ensure-venv.sh` once",
    );
  }
  try {
    const python = execFileSync("bash", [ENSURE], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
    return { path: python, skip: null };
  } catch (err) {
    return missing(`ensure-venv.sh failed: ${(err as Error).message.split("\n")[0]}`);
  }
}

/** The shared sample of real reviews: ../shared/data beside the checkout, or $REVIEWS_SAMPLE. */
export function reviewsSample(): Found {
  const path =
    process.env.REVIEWS_SAMPLE ?? resolve(REPO_ROOT, "../shared/data/amazon-reviews-2023-sample.jsonl");
  if (existsSync(path)) return { path, skip: null };
  return missing(`the review sample is not at ${path} (set REVIEWS_SAMPLE)`);
}

function missing(reason: string): Found {
  if (underCi) throw new Error(`CI=true but ${reason}`);
  return { path: null, skip: reason };
}

/** The venv path ensure-venv.sh uses: $SP_VENV_ROOT or ~/.cache/sentiment-pipeline, venv-<16 hex of the lock's sha256>. */
function venvBuilt(): boolean {
  if (!existsSync(LOCK)) return false;
  const hash = createHash("sha256").update(readFileSync(LOCK)).digest("hex").slice(0, 16);
  const root = process.env.SP_VENV_ROOT ?? join(homedir(), ".cache/sentiment-pipeline");
  return existsSync(join(root, `venv-${hash}`, ".sp-venv-complete"));
}
