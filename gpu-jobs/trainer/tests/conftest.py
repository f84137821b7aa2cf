"""Shared test helpers: an embedded run folder, job arguments as the TypeScript side renders them, the outbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import write_prepared  # noqa: E402

TRAINER = Path(__file__).resolve().parents[1]
REPO = TRAINER.parents[1]
BUCKET = "test-bucket"
RUN_ID = "run-test-1"
RUN_DIR = f"gs://{BUCKET}/runs/{RUN_ID}"
TINY_MODELS = {"bert": "tiny", "roberta": "tiny"}

torch.set_num_threads(1)


def kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name)


def input_to_args(job_input: dict[str, Any]) -> list[str]:
    """gpu-jobs/specs/job-args.ts `inputToArgs`: strings raw, everything else JSON."""
    args = [job_input["step"]]
    for key, value in job_input.items():
        if key != "step":
            args += [f"--{kebab(key)}", value if isinstance(value, str) else json.dumps(value)]
    return args


def common_input(step: str, attempt: int = 1, data_dir: str = f"{RUN_DIR}/prepare/a1", **overrides: Any) -> dict[str, Any]:
    base = {
        "runId": RUN_ID,
        "attempt": attempt,
        "correlationId": "corr-1",
        "runDir": RUN_DIR,
        "outDir": f"{RUN_DIR}/{step}/a{attempt}",
        "dataDir": data_dir,
        "models": TINY_MODELS,
        "maxLength": 64,
        "seed": 42,
        "useSideFeatures": True,
        "earlyStoppingPatience": 2,
        "warmupRatio": 0.1,
        "maxGradNorm": 1.0,
        "compileStep": "auto",
        "step": step,
    }
    return {**base, **overrides}


PARAMS = {"modelFamily": "bert", "learningRate": 1e-3, "batchSize": 32, "epochs": 4, "weightDecay": 0.01, "dropout": 0.1}
SEARCH = {
    "modelFamilies": ["bert", "roberta"],
    "learningRate": {"low": 1e-5, "high": 2e-3, "log": True},
    "batchSizes": [32, 64],
    "epochs": {"low": 3, "high": 4},
    "weightDecay": {"low": 1e-4, "high": 0.1, "log": True},
    "dropout": {"low": 0.1, "high": 0.3, "log": False},
    "trials": 3,
    "timeBudget": 0,
    "parallelTrials": 1,
    "earlyStopping": "median",
}


def train_input(**overrides: Any) -> dict[str, Any]:
    return common_input("train", **{"params": PARAMS, "mitigation": None, "int8F1Tolerance": 0.02, **overrides})


def tune_input(**overrides: Any) -> dict[str, Any]:
    return common_input("tune", **{"search": SEARCH, **overrides})


@dataclass
class Env:
    root: Path
    outbox: Path

    def bucket_path(self, uri: str) -> Path:
        return self.root / "bucket" / uri.removeprefix(f"gs://{BUCKET}/")

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        found = [json.loads(line) for line in self.outbox.read_text().splitlines() if line.strip()]
        return [e for e in found if event_type is None or e["type"] == event_type]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """Embedded mode: the bucket is a folder, events go to an outbox file, no MLflow unless a test sets it."""
    root = tmp_path / "local"
    monkeypatch.setenv("PIPELINE_MODE", "embedded")
    monkeypatch.setenv("LOCAL_ROOT", str(root))
    monkeypatch.setenv("BUCKET", BUCKET)
    monkeypatch.setenv("SP_OUTBOX", str(tmp_path / "outbox.jsonl"))
    for name in ("SP_TOPICS", "AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "STORAGE_EMULATOR_ENDPOINT", "CLOUD_ML_JOB_ID", "SP_ACCELERATOR", "SP_ACCELERATOR_STAND_IN"):
        monkeypatch.delenv(name, raising=False)
    return Env(root=root, outbox=tmp_path / "outbox.jsonl")


def synthetic_data(env: Env, rows: int = 600, seed: int = 7) -> str:
    """A small prepared data folder in the run's bucket; returns its URI."""
    uri = f"{RUN_DIR}/prepare/a1"
    write_prepared(env.bucket_path(uri), rows=rows, seed=seed)
    return uri


def generator_ready() -> bool:
    """The real review generator and prepare job, once they have landed."""
    job = REPO / "gpu-jobs" / "prepare" / "job.ts"
    generator = REPO / "gpu-jobs" / "prepare" / "generator" / "cli.ts"
    return (
        shutil.which("npm") is not None
        and generator.is_file()
        and job.is_file()
        and "placeholder" not in job.read_text()
        and (REPO / "node_modules").is_dir()
    )


def generated_data(folder: Path, scenario: str = "clean", rows: int = 2000, seed: int = 11) -> Path:
    """`npm run gen-reviews` then `npm run prepare`: the splits exactly as the pipeline makes them."""
    folder.mkdir(parents=True, exist_ok=True)
    upload = folder / f"{scenario}.jsonl"
    env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"}
    for k in ("PIPELINE_MODE", "LOCAL_ROOT", "SP_OUTBOX", "BUCKET"):
        env.pop(k, None)
    run = {"cwd": REPO, "env": env, "check": True, "capture_output": True, "text": True, "timeout": 300}
    subprocess.run(["npm", "run", "--silent", "gen-reviews", "--", "--rows", str(rows), "--seed", str(seed), "--scenario", scenario, "--out", str(upload)], **run)
    out = folder / "prepared"
    subprocess.run(["npm", "run", "--silent", "prepare", "--", "--input", str(upload), "--out", str(out)], **run)
    return out
