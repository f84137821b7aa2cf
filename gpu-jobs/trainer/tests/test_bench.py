"""The GPU benchmark script runs (tiny sizes, CPU) and prints one JSON line comparing the trainer's step with Trainer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO


def test_gpu_benchmark_smoke_run_prints_one_json_line() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "trainer" / "gpu_bench.py"), "--smoke"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [line] = done.stdout.strip().splitlines()
    result = json.loads(line)
    assert result["bench"] == "trainer-gpu" and result["model"] == "smoke"
    assert result["baseline_examples_per_s"] > 0 and result["ours_examples_per_s"] > 0
    assert result["speedup"] == pytest.approx(result["ours_examples_per_s"] / result["baseline_examples_per_s"], abs=1e-3)
