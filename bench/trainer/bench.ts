// `npm run bench -- trainer`: the trainer's Python benchmarks, in its own virtual environment (see minilm_cpu.py).
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const venv = spawnSync("bash", [join(root, "gpu-jobs", "trainer", "scripts", "ensure-venv.sh")], {
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
});
if (venv.status !== 0) {
  console.error("cannot create the trainer's Python environment");
  process.exit(venv.status ?? 1);
}
const python = venv.stdout.trim();
// The GPU benchmark (gpu_bench.py) needs a GPU machine: run it there by hand, see docs/benchmarks.md.
const run = spawnSync(python, [join(import.meta.dirname, "minilm_cpu.py"), ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
process.exitCode = run.status ?? 1;
