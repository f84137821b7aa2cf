"""Data-parallel training: the cluster from Vertex's CLUSTER_SPEC, the torchrun launch, the process group and its helpers.

A Vertex custom job with several replicas runs the same container on each; Vertex tells every replica where it sits in
CLUSTER_SPEC (`{"cluster": {"workerpool0": ["host:port"], "workerpool1": [...]}, "task": {"type": "workerpool1",
"index": 0}}`, https://cloud.google.com/vertex-ai/docs/training/distributed-training). The job re-executes itself
under torchrun with one process per GPU (or SP_PROCS_PER_NODE processes on a CPU), node rank and master address taken
from that spec, so the image's entry point stays `python -m sentiment_trainer train ...` for one process or many.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from .errors import JobInputError

#: torchrun sets these in every worker it starts: their presence means this process is one of the group.
WORKER_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
#: Processes per replica on a machine without GPUs (the stand-ins run gloo on the CPU); GPUs give one process each.
PROCS_ENV = "SP_PROCS_PER_NODE"
#: Seconds a collective waits for a silent peer (a preempted replica) before the survivors fail and the job restarts.
TIMEOUT_ENV = "SP_DDP_TIMEOUT_S"
DEFAULT_PORT = 29500


@dataclass(frozen=True)
class Cluster:
    """Where this replica sits: node rank among `nodes` replicas, and the chief's address every replica dials."""

    node_rank: int
    nodes: int
    master_addr: str
    master_port: int


def cluster_from_env(env: Mapping[str, str]) -> Cluster:
    """The replica's place from CLUSTER_SPEC (chief = workerpool0[0], then workerpool1's replicas in order); one node
    when there is none. MASTER_ADDR/MASTER_PORT, which Vertex sets for its PyTorch containers, win when present."""
    raw = env.get("CLUSTER_SPEC", "").strip()
    if not raw:
        return Cluster(0, 1, env.get("MASTER_ADDR", "127.0.0.1"), _port(env.get("MASTER_PORT"), DEFAULT_PORT, "MASTER_PORT"))
    try:
        spec = json.loads(raw)
        pools: dict[str, list[str]] = spec["cluster"]
        task = spec["task"]
        kind, index = str(task["type"]), int(task["index"])
        chief = list(pools["workerpool0"])
        workers = list(pools.get("workerpool1", []))
    except (ValueError, KeyError, TypeError) as err:
        raise JobInputError(f"CLUSTER_SPEC is not Vertex's cluster spec ({err!r}): {raw[:300]}") from err
    if len(chief) != 1:
        raise JobInputError(f"CLUSTER_SPEC: workerpool0 must hold exactly one replica (the chief), it holds {len(chief)}")
    if kind == "workerpool0":
        rank = index
    elif kind == "workerpool1":
        rank = 1 + index
    else:
        raise JobInputError(f"CLUSTER_SPEC: task type {kind} takes no part in data-parallel training (workerpool0 or workerpool1)")
    nodes = 1 + len(workers)
    if not 0 <= rank < nodes:
        raise JobInputError(f"CLUSTER_SPEC: task {kind}[{index}] is outside the cluster of {nodes} replicas")
    host, _, port = chief[0].rpartition(":")
    addr = env.get("MASTER_ADDR") or host or chief[0]
    return Cluster(rank, nodes, addr, _port(env.get("MASTER_PORT"), _port(port, DEFAULT_PORT, "CLUSTER_SPEC"), "MASTER_PORT"))


def _port(value: str | None, default: int, where: str) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise JobInputError(f"{where}: {value!r} is not a port number")
    return int(value)


def procs_per_node(env: Mapping[str, str], cuda_devices: int) -> int:
    """One process per visible GPU; on a CPU, SP_PROCS_PER_NODE (default 1)."""
    if cuda_devices > 0:
        return cuda_devices
    raw = env.get(PROCS_ENV, "1")
    if not raw.isdigit() or int(raw) < 1:
        raise JobInputError(f"{PROCS_ENV}: {raw!r} is not a positive whole number")
    return int(raw)


def is_worker(env: Mapping[str, str]) -> bool:
    return all(k in env for k in WORKER_ENV)


def torchrun_argv(cluster: Cluster, nproc: int, job_argv: list[str]) -> list[str] | None:
    """The command that runs this job under torchrun, or None when one process is the whole job."""
    if cluster.nodes * nproc <= 1:
        return None
    # One machine: torchrun's standalone rendezvous picks a free port, so two such jobs on one host do not collide.
    where = (
        ["--standalone"]
        if cluster.nodes == 1
        else [f"--nnodes={cluster.nodes}", f"--node-rank={cluster.node_rank}", f"--master-addr={cluster.master_addr}", f"--master-port={cluster.master_port}"]
    )
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        *where,
        f"--nproc-per-node={nproc}",
        # A failed worker fails the job; Vertex (restartJobOnWorkerRestart) restarts all replicas, which resume.
        "--max-restarts=0",
        "-m",
        "sentiment_trainer",
        *job_argv,
    ]


@dataclass(frozen=True)
class Group:
    """This process's place in the data-parallel group; a single process is rank 0 of 1."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def chief(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = Group()


def die_with_parent() -> None:
    """Ends this process when its parent dies. torchrun starts its workers in sessions of their own, so a launcher
    killed outright (an out-of-memory kill, a stand-in's SIGKILL) would leave them training on, and racing the next
    attempt for the same checkpoint. Linux only, where the jobs run; elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))


def init_group(env: Mapping[str, str]) -> Group:
    """Joins the process group torchrun set up: NCCL when this process has a GPU, gloo on the CPU."""
    if not is_worker(env) or int(env["WORLD_SIZE"]) <= 1:
        return SINGLE
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        raise SystemExit(137)
    group = Group(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env["LOCAL_RANK"]))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(group.local_rank)
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=int(env.get(TIMEOUT_ENV, "600"))))
    return group


def close_group(group: Group) -> None:
    if group.active and dist.is_initialized():
        dist.destroy_process_group()


def all_gather(group: Group, value: Any) -> list[Any]:
    """Every rank's value, in rank order (pickled; for small things: predictions, keys, epoch numbers)."""
    if not group.active:
        return [value]
    out: list[Any] = [None] * group.world
    dist.all_gather_object(out, value)
    return out


def agree(group: Group, what: str, value: Any) -> None:
    """Fails when the ranks do not hold the same value (a checkpoint one rank saw and another did not, a tokenizer
    learned differently): diverging ranks would train different models while looking healthy."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
    seen = all_gather(group, digest)
    if len(set(seen)) > 1:
        raise RuntimeError(f"the data-parallel ranks disagree on {what}: {seen}")


def sum_across(group: Group, value: torch.Tensor) -> torch.Tensor:
    if group.active:
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def shard(index: list[int], group: Group) -> list[int]:
    """This rank's part of one global batch: contiguous near-equal slices, so each rank gets rows of similar length.
    A rank left with none gets the batch's first row (the caller weights it zero), since every rank must step."""
    n, k = len(index), group.world
    start, end = group.rank * n // k, (group.rank + 1) * n // k
    return index[start:end] if end > start else index[:1]
