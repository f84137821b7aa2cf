"""Data-parallel training: Vertex's CLUSTER_SPEC, sharding, two gloo processes matching one, and a DDP run that resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RUN_DIR, RUN_ID, TRAINER, Env, input_to_args, synthetic_data, train_input
from ddp_fit import free_port, fit_tiny

from sentiment_trainer.batching import length_grouped_batches
from sentiment_trainer.distributed import Cluster, Group, cluster_from_env, procs_per_node, shard, torchrun_argv
from sentiment_trainer.errors import JobInputError

#: dropout 0 in the fit-level test: the ranks draw their dropout masks from other random streams than one process does, which alone moves
#: a tiny model on 600 rows by a few points of F1; without it the two runs do the same arithmetic up to float
#: summation order (the gradient averaged over ranks is the global batch's gradient by construction).
PARAMS = {"modelFamily": "bert", "learningRate": 1e-3, "batchSize": 32, "epochs": 2, "weightDecay": 0.01, "dropout": 0.0}
#: How far the two-process run's validation metrics may be from the single process's (absolute).
TOLERANCE = 0.01


def _spec(kind: str, index: int, workers: int = 1) -> str:
    """CLUSTER_SPEC as Vertex sets it (https://cloud.google.com/vertex-ai/docs/training/distributed-training)."""
    cluster = {"workerpool0": ["cmle-training-workerpool0-ab12-0:2222"], "workerpool1": [f"cmle-training-workerpool1-ab12-{i}:2222" for i in range(workers)]}
    return json.dumps({"cluster": cluster, "environment": "cloud", "task": {"type": kind, "index": index}, "job": "{}"})


def test_the_cluster_spec_gives_the_chief_rank_0_and_workers_the_ranks_after_it() -> None:
    assert cluster_from_env({"CLUSTER_SPEC": _spec("workerpool0", 0, 3)}) == Cluster(0, 4, "cmle-training-workerpool0-ab12-0", 2222)
    assert cluster_from_env({"CLUSTER_SPEC": _spec("workerpool1", 2, 3)}) == Cluster(3, 4, "cmle-training-workerpool0-ab12-0", 2222)
    # Vertex's PyTorch containers also set MASTER_ADDR/MASTER_PORT: they win.
    assert cluster_from_env({"CLUSTER_SPEC": _spec("workerpool1", 0), "MASTER_ADDR": "10.0.0.2", "MASTER_PORT": "23456"}) == Cluster(1, 2, "10.0.0.2", 23456)
    single = json.dumps({"cluster": {"workerpool0": ["h:2222"]}, "task": {"type": "workerpool0", "index": 0}})
    assert cluster_from_env({"CLUSTER_SPEC": single}).nodes == 1
    assert cluster_from_env({}) == Cluster(0, 1, "127.0.0.1", 29500)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{not json", "not Vertex's cluster spec"),
        (json.dumps({"cluster": {}, "task": {"type": "workerpool0", "index": 0}}), "not Vertex's cluster spec"),
        (_spec("workerpool2", 0), "task type workerpool2"),
        (_spec("workerpool1", 5), "outside the cluster of 2"),
    ],
)
def test_a_cluster_spec_that_is_not_vertexs_fails_naming_the_problem(spec: str, message: str) -> None:
    with pytest.raises(JobInputError, match=message):
        cluster_from_env({"CLUSTER_SPEC": spec})


def test_torchrun_runs_only_when_the_job_spans_several_processes() -> None:
    assert torchrun_argv(Cluster(0, 1, "h", 1), 1, ["train"]) is None
    argv = torchrun_argv(Cluster(1, 2, "chief", 2222), 4, ["train", "--run-id", "r"])
    assert argv is not None and argv[1:3] == ["-m", "torch.distributed.run"]
    assert {"--nnodes=2", "--node-rank=1", "--nproc-per-node=4", "--master-addr=chief", "--master-port=2222"} <= set(argv)
    assert argv[-4:] == ["sentiment_trainer", "train", "--run-id", "r"]
    # One machine, several processes: a rendezvous of its own on a free port.
    local = torchrun_argv(Cluster(0, 1, "127.0.0.1", 29500), 2, ["train"])
    assert local is not None and "--standalone" in local and "--nproc-per-node=2" in local and not any(a.startswith("--master-port") for a in local)
    assert procs_per_node({"SP_PROCS_PER_NODE": "3"}, 0) == 3 and procs_per_node({"SP_PROCS_PER_NODE": "3"}, 8) == 8
    with pytest.raises(JobInputError, match="SP_PROCS_PER_NODE"):
        procs_per_node({"SP_PROCS_PER_NODE": "0"}, 0)


def test_each_rank_gets_a_slice_of_every_length_grouped_batch() -> None:
    lengths = [(i * 37) % 61 + 3 for i in range(203)]
    batches = length_grouped_batches(lengths, 32, seed=5)
    for world in (2, 3):
        slices = [[shard(b, Group(r, world, r)) for b in batches] for r in range(world)]
        # The same number of steps on every rank, and every row of every batch on exactly one rank.
        assert {len(s) for s in slices} == {len(batches)}
        for k, batch in enumerate(batches):
            assert sorted(i for r in range(world) for i in slices[r][k]) == sorted(batch)
            # Similar lengths within a slice, as the global batch has.
            assert all(max(lengths[i] for i in slices[r][k]) <= max(lengths[i] for i in batch) for r in range(world))
    # A batch smaller than the world still gives every rank a row to step on (the loop weights it zero).
    assert [shard([9], Group(r, 2, r)) for r in range(2)] == [[9], [9]]


@pytest.mark.slow
def test_two_gloo_ranks_take_the_same_steps_as_one_process_with_the_same_global_batch(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    # 240 rows in batches of 25: the last global batch (15 rows) splits unevenly, so the normalisation is tested.
    fit_tiny(0, 1, 0, str(tmp_path / "one.json"))
    mp.spawn(fit_tiny, args=(2, free_port(), str(tmp_path / "two.json")), nprocs=2, join=True)
    one = json.loads((tmp_path / "one.json").read_text())["history"]
    two = json.loads((tmp_path / "two.json").read_text())["history"]
    assert len(one) == len(two) == 3
    for a, b in zip(one, two, strict=True):
        # Up to float summation order (the gradient all-reduce adds in another order): 1e-4 of the loss, and the
        # same predictions on the validation set.
        assert abs(a["trainLoss"] - b["trainLoss"]) <= 1e-4 * a["trainLoss"], (a, b)
        for k in ("accuracy", "weightedF1", "macroF1"):
            assert abs(a[k] - b[k]) <= TOLERANCE, (k, a, b)


def _job_env(env: Env, procs: int, **extra: str) -> dict[str, str]:
    out = {**os.environ, "PYTHONPATH": str(TRAINER), "SP_TORCH_THREADS": "1", "SP_PROCS_PER_NODE": str(procs), **extra}
    out.pop("CLUSTER_SPEC", None)
    return out


def _train(env: Env, procs: int, **overrides: Any) -> subprocess.CompletedProcess[str]:
    argv = input_to_args(train_input(params=PARAMS, earlyStoppingPatience=0, **overrides))
    return subprocess.run([sys.executable, "-m", "sentiment_trainer", *argv], cwd=TRAINER, env=_job_env(env, procs), capture_output=True, text=True, timeout=900)


def _copy_data(env: Env, uri: str, run: str) -> dict[str, str]:
    """Another run folder holding the same prepared data (a job reads only its own run's data)."""
    import shutil

    other = {"runId": f"{RUN_ID}-{run}", "runDir": f"{RUN_DIR}-{run}", "outDir": f"{RUN_DIR}-{run}/train/a1", "dataDir": f"{RUN_DIR}-{run}/prepare/a1"}
    shutil.copytree(env.bucket_path(uri), env.bucket_path(other["dataDir"]))
    return other


@pytest.mark.slow
def test_a_training_job_under_torchrun_runs_two_gloo_ranks_and_rank_0_alone_publishes(env: Env) -> None:
    uri = synthetic_data(env, rows=600)
    one = _train(env, 1, dataDir=uri)
    assert one.returncode == 0, one.stdout + one.stderr
    two = _train(env, 2, **_copy_data(env, uri, "ddp"))
    assert two.returncode == 0, two.stdout + two.stderr
    done = env.events("training.completed")
    # Rank 0 alone publishes: one event per training, not one per rank.
    assert [e["runId"] for e in done] == [RUN_ID, f"{RUN_ID}-ddp"]
    single, ddp = done[0]["data"], done[1]["data"]
    assert ddp["epochsRun"] == single["epochsRun"] == PARAMS["epochs"]
    report = json.loads(env.bucket_path(f"{RUN_DIR}-ddp/train/a1/training.json").read_text())
    assert report["worldSize"] == 2
    first = json.loads(env.bucket_path(f"{RUN_DIR}/train/a1/training.json").read_text())
    # The whole job under torchrun: the same loss curve within the noise of the encoder's dropout (its masks are drawn
    # per rank), 1-2% measured; the exact equivalence is the test above, with dropout off.
    for a, b in zip(first["history"], report["history"], strict=True):
        assert abs(a["trainLoss"] - b["trainLoss"]) <= 0.05 * a["trainLoss"], (a, b)
    # Two processes of the same job ran, and each said which rank it was.
    ranks = {json.loads(line).get("rank") for line in two.stdout.splitlines() if line.startswith("{") and "data-parallel training" in line}
    assert ranks == {0, 1}


def _wait_for(env: Env, proc: subprocess.Popen[str], done: Any, what: str, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return
        if proc.poll() is not None:
            pytest.fail(f"training exited ({proc.returncode}) before {what}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"no {what} within {timeout_s}s")


@pytest.mark.slow
def test_a_data_parallel_training_killed_mid_epoch_resumes_from_rank_0s_checkpoint(env: Env, tmp_path: Path) -> None:
    params = {**PARAMS, "epochs": 3, "batchSize": 16}
    uri = synthetic_data(env, rows=600)
    argv = input_to_args(train_input(dataDir=uri, params=params, earlyStoppingPatience=0))
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentiment_trainer", *argv], cwd=TRAINER, env=_job_env(env, 2), stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )

    def epochs_done() -> list[int]:
        return [e["data"]["current"] for e in env.events("job.progress") if e["data"]["unit"] == "epoch"]

    _wait_for(env, proc, lambda: epochs_done() == [1], "epoch 1")
    # Epoch 2 has begun when epoch 1 is reported (its checkpoint is written first); on a quiet machine the whole epoch
    # takes about a second, so the kill follows at once (a 1 s pause let epoch 2 end first in a clean-clone CI run).
    time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # as a preempted VM: launcher and both ranks die, no cleanup
    proc.wait(timeout=30)
    assert epochs_done() == [1] and env.events("training.completed") == [], "the kill came after epoch 2 ended"
    assert env.bucket_path(f"{RUN_DIR}/train/a1/checkpoints/checkpoint.pt").is_file()

    before = len(env.events())
    retry = subprocess.run(
        [sys.executable, "-m", "sentiment_trainer", *input_to_args(train_input(dataDir=uri, params=params, earlyStoppingPatience=0, attempt=2))],
        cwd=TRAINER,
        env=_job_env(env, 2),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert retry.returncode == 0, retry.stdout + retry.stderr
    logs = [json.loads(line) for line in retry.stdout.splitlines() if line.startswith("{")]
    resumed = [e for e in logs if e["message"].startswith("resuming from checkpoint")]
    # Both ranks load rank 0's checkpoint of the first attempt, at the epoch it finished.
    assert sorted(e["logging.googleapis.com/labels"].get("rank") for e in resumed) == ["0", "1"] and {e["checkpointEpoch"] for e in resumed} == {1}, retry.stdout[-6000:]
    assert all("/train/a1/checkpoints/" in e["message"] for e in resumed)
    later = env.events()[before:]
    assert [e["data"]["current"] for e in later if e["type"] == "job.progress" and e["data"]["unit"] == "epoch"] == [2, 3]
    [completed] = [e for e in later if e["type"] == "training.completed"]
    assert completed["attempt"] == 2 and completed["data"]["epochsRun"] == params["epochs"]
