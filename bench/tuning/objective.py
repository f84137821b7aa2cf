"""The search-quality benchmark's objective: one tuning trial through `sentiment_trainer trial`, Vertex's entry point.

A trial is exactly what a Vertex AI tuning job's trial runs: the tune job's arguments (rendered by study-spec.ts from
the default config) plus the `--name=value` parameters Vertex appends, here in embedded mode over a local bucket. Its
value is the best validation weighted F1 it wrote to trials/<id>/trial.json (BEST_MEASUREMENT, as the study spec asks).
It runs in this process, so torch and the tokenizer are loaded once, not once per trial.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TRAINER = Path(__file__).resolve().parents[2] / "gpu-jobs" / "trainer"
if str(TRAINER) not in sys.path:
    sys.path.insert(0, str(TRAINER))

SPLITS = ("train.jsonl", "validation.jsonl", "test.jsonl", "stats.json")


class ObjectiveError(RuntimeError):
    """A trial that could not be trained: the message names the trial and where its log is."""


def flag(argv: list[str], name: str) -> str:
    try:
        return argv[argv.index(name) + 1]
    except (ValueError, IndexError):
        raise ObjectiveError(f"the tune arguments lack {name}") from None


@contextlib.contextmanager
def _env(values: dict[str, str], drop: tuple[str, ...]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*values, *drop)}
    os.environ.update(values)
    for k in drop:
        os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class TrialObjective:
    """Trains trials of one scenario: its prepared splits copied once into the local bucket the tune arguments name."""

    def __init__(self, root: Path, tune_args: list[str], prepared: Path, log_to: Path) -> None:
        self.root, self.argv, self.log_to = root, tune_args, log_to
        self.bucket = flag(tune_args, "--run-dir").removeprefix("gs://").split("/")[0]
        target = self._local(flag(tune_args, "--data-dir"))
        target.mkdir(parents=True, exist_ok=True)
        for name in SPLITS:
            source = prepared / name
            if not source.is_file():
                raise ObjectiveError(f"{source} is missing: the scenario was not prepared")
            shutil.copyfile(source, target / name)

    def _local(self, uri: str) -> Path:
        return self.root / "bucket" / uri.removeprefix(f"gs://{self.bucket}/")

    def __call__(self, trial_id: str, params: dict[str, Any]) -> float:
        from sentiment_trainer.cli import main

        env = {
            "PIPELINE_MODE": "embedded",
            "LOCAL_ROOT": str(self.root),
            "BUCKET": self.bucket,
            "SP_OUTBOX": str(self.root / "outbox.jsonl"),
            "SP_TORCH_THREADS": os.environ.get("SP_TORCH_THREADS", "1"),
            "CLOUD_ML_TRIAL_ID": trial_id,
            "CLOUD_ML_HP_METRIC_FILE": str(self.root / "hypertune" / f"{trial_id}.metrics"),
        }
        # Vertex's own form: `--name=value` after the tune job's arguments; the trainer checks each against the space.
        argv = ["trial", *self.argv[1:], *(f"--{name}={value}" for name, value in params.items())]
        self.log_to.parent.mkdir(parents=True, exist_ok=True)
        with _env(env, ("MLFLOW_TRACKING_URI", "SP_TOPICS", "CLOUD_ML_JOB_ID", "STORAGE_EMULATOR_ENDPOINT")), self.log_to.open("a") as log, contextlib.redirect_stdout(log):
            code = main(argv)
        folder = self._local(flag(self.argv, "--out-dir")) / "trials" / trial_id
        if code != 0:
            raise ObjectiveError(f"trial {trial_id} exited {code}; its log: {self.log_to}")
        value = json.loads((folder / "trial.json").read_text())["value"]
        # Only the value matters here: hundreds of trial checkpoints would fill the disk.
        shutil.rmtree(folder, ignore_errors=True)
        return float(value)


def timed(objective: TrialObjective, trial_id: str, params: dict[str, Any]) -> tuple[float, float]:
    began = time.perf_counter()
    value = objective(trial_id, params)
    return value, time.perf_counter() - began
