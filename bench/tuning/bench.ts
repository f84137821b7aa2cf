// `npm run bench -- tuning`: search quality of Vizier (OSS, GP-UCB-PE) vs Optuna-TPE vs the stand-in's random search.
// The trials train in the trainer's Python; Vizier runs in the bench's own (bench/tuning/ensure-venv.sh, made here).
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

function python(script: string, what: string): string {
  const r = spawnSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) {
    console.error(`cannot create ${what}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout.trim();
}

const trainer = python(
  join(root, "gpu-jobs", "trainer", "scripts", "ensure-venv.sh"),
  "the trainer's Python environment",
);
const vizier = python(join(import.meta.dirname, "ensure-venv.sh"), "the bench's Vizier environment");
// About 20 minutes on two shared cores (docs/benchmarks.md, "Search quality: Vizier vs Optuna-TPE"); niced.
const run = spawnSync(
  "nice",
  [
    "-n",
    "10",
    trainer,
    join(import.meta.dirname, "search_quality.py"),
    "--vizier-python",
    vizier,
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: "inherit" },
);
process.exitCode = run.status ?? 1;
