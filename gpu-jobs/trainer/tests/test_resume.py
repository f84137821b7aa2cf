"""Killing training after an epoch and starting it again resumes from the checkpoint, and ends where an unbroken run does."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import RUN_DIR, RUN_ID, TRAINER, Env, input_to_args, synthetic_data, train_input

from sentiment_trainer.checkpoints import CheckpointStore
from sentiment_trainer.logs import Logger

PARAMS = {"modelFamily": "bert", "learningRate": 1e-3, "batchSize": 16, "epochs": 3, "weightDecay": 0.01, "dropout": 0.1}


def _start(argv: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(TRAINER), "SP_TORCH_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "sentiment_trainer", *argv], cwd=TRAINER, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_epoch(env: Env, proc: subprocess.Popen[str], epoch: int, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(e["data"].get("current", 0) >= epoch for e in env.events("job.progress") if e["data"]["unit"] == "epoch"):
            return
        if proc.poll() is not None:
            pytest.fail(f"training exited ({proc.returncode}) before epoch {epoch}: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"no epoch {epoch} within {timeout_s}s")


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_checkpoint_in_the_next_attempt(env: Env) -> None:
    uri = synthetic_data(env, rows=800)
    proc = _start(input_to_args(train_input(dataDir=uri, params=PARAMS, earlyStoppingPatience=0)))
    _wait_for_epoch(env, proc, 1)
    proc.send_signal(signal.SIGKILL)  # as a preempted VM: no chance to clean up
    proc.wait(timeout=30)
    killed_at = max(e["data"]["current"] for e in env.events("job.progress") if e["data"]["unit"] == "epoch")
    assert env.events("training.completed") == [] and killed_at < PARAMS["epochs"]
    assert env.bucket_path(f"{RUN_DIR}/train/a1/checkpoints/checkpoint.pt").is_file()

    before = len(env.events())
    retry = _start(input_to_args(train_input(dataDir=uri, params=PARAMS, earlyStoppingPatience=0, attempt=2)))
    out, _ = retry.communicate(timeout=300)
    assert retry.returncode == 0, out
    logs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    resumed = [entry for entry in logs if entry["message"].startswith("resuming from checkpoint")]
    assert resumed and resumed[0]["checkpointEpoch"] >= 1 and "/train/a1/checkpoints/" in resumed[0]["message"]
    later = env.events()[before:]
    epochs_after = [e["data"]["current"] for e in later if e["type"] == "job.progress" and e["data"]["unit"] == "epoch"]
    assert epochs_after == list(range(resumed[0]["checkpointEpoch"] + 1, PARAMS["epochs"] + 1))
    [done] = [e for e in later if e["type"] == "training.completed"]
    assert done["attempt"] == 2 and done["data"]["epochsRun"] == PARAMS["epochs"]

    # The same training without interruption (another run folder) ends with the same validation metrics.
    from sentiment_trainer.cli import main

    # Its own run folder, with a copy of the same prepared data: a job reads only its own run's data.
    other = {"runId": f"{RUN_ID}-x", "runDir": f"{RUN_DIR}-x", "outDir": f"{RUN_DIR}-x/train/a1", "dataDir": f"{RUN_DIR}-x/prepare/a1"}
    shutil.copytree(env.bucket_path(uri), env.bucket_path(other["dataDir"]))
    os.environ["SP_TORCH_THREADS"] = "1"
    try:
        assert main(input_to_args(train_input(params=PARAMS, earlyStoppingPatience=0, **other))) == 0
    finally:
        del os.environ["SP_TORCH_THREADS"]
    unbroken = env.events("training.completed")[-1]
    assert unbroken["data"]["validation"] == done["data"]["validation"]


def test_checkpoints_of_other_work_or_of_finished_attempts_are_not_resumed(env: Env) -> None:
    log = Logger()
    own, old = f"{RUN_DIR}/train/a3/checkpoints", f"{RUN_DIR}/train/a2/checkpoints"
    CheckpointStore(old, "key-a", log).save({"epoch": 2, "finished": True})
    assert CheckpointStore(own, "key-a", log, fallbacks=(old,)).load() is None
    CheckpointStore(old, "key-b", log).save({"epoch": 1, "finished": False})
    assert CheckpointStore(own, "key-a", log, fallbacks=(old,)).load() is None
    CheckpointStore(old, "key-a", log).save({"epoch": 1, "finished": False})
    state = CheckpointStore(own, "key-a", log, fallbacks=(old,)).load()
    assert state is not None and state["epoch"] == 1
    Path(env.bucket_path(f"{own}/checkpoint.pt")).parent.mkdir(parents=True)
    env.bucket_path(f"{own}/checkpoint.pt").write_bytes(b"torn")
    state = CheckpointStore(own, "key-a", log, fallbacks=(old,)).load()
    assert state is not None and state["epoch"] == 1  # a torn own checkpoint falls back, never crashes
