#!/usr/bin/env bash
# The GPU checks of issue 15 as one prepared command for a lent device (the device machine's own torch and
# transformers): the trainer's step against Hugging Face `Trainer` fp32 at batches 32 and 64, eager and compiled (CUDA
# graphs over length buckets), with MFU; then the trainer's fit, eager against compiled, on reviews of varied lengths.
# Each part has its own time limit, and every line it prints is kept under $OUT (or .local/bench/trainer/gpu).
set -uo pipefail
out="${OUT:-.local/bench/trainer/gpu}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$out/nvidia-smi.csv"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__, "cpus", __import__("os").cpu_count())' | tee "$out/versions.txt"
# SMOKE=--smoke tries the whole script on a CPU in seconds.
timeout "${BENCH_LIMIT:-300}" python3 bench/trainer/gpu_bench.py --batches 32,64 --repeats 2 --steps 60 --warmup 12 --compiled ${SMOKE:-} \
  > "$out/gpu-bench.json" 2> >(tee "$out/gpu-bench.err" | grep --line-buffered '^{"batch"' >&2)
echo "gpu_bench exit $?"
timeout "${FIT_LIMIT:-150}" python3 bench/trainer/gpu_bench.py --fit-check --batch 32 --fit-rows 4000 --fit-epochs 3 ${SMOKE:-} \
  > "$out/fit-check.json" 2> "$out/fit-check.err"
echo "fit-check exit $?"
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for name in ("gpu-bench.json", "fit-check.json"):
    text = (out / name).read_text().strip() if (out / name).exists() else ""
    if not text:
        err = (out / name.replace(".json", ".err"))
        print(name, "empty; stderr tail:", err.read_text()[-1500:] if err.exists() else "none")
        continue
    r = json.loads(text.splitlines()[-1])
    if r["bench"] == "trainer-gpu":
        for row in r["by_batch"]:
            print({k: v for k, v in row.items() if k != "runs"})
            print("  warmup_seconds", {k: [round(x.get("warmup_seconds", 0), 1) for x in v] for k, v in row["runs"].items()})
    else:
        print({k: v for k, v in r.items() if k not in ("off", "graphs")})
        for mode in ("off", "graphs"):
            print(mode, r[mode])
PY
