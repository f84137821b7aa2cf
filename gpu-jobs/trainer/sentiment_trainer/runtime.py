"""What tune and train share: the job context, the device and threads, and the data both read (never the test split)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import data
from .args import JobArgs
from .batching import Encoded
from .distributed import SINGLE, Group
from .events import Emitter
from .logs import Logger
from .models import ModelSource


@dataclass
class JobContext:
    log: Logger
    events: Emitter
    device: torch.device
    #: A local scratch folder for this process (model export, the study database).
    work: Path
    env: dict[str, str]
    #: This process's place among the data-parallel ranks (rank 0 of 1 when training alone).
    group: Group = SINGLE


def configure_torch(log: Logger, group: Group = SINGLE) -> torch.device:
    """CUDA when there is one. CPU threads: SP_TORCH_THREADS, else half the cores this process may use (one on a
    two-core machine, shared by the data-parallel ranks on it): on a small or shared CPU, intra-op threads wait at barriers for a descheduled sibling, which
    measured 7x slower than one thread for the tiny model on the shared two-core development machine."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if group.active else 1
    threads = int(os.environ.get("SP_TORCH_THREADS") or max(1, len(os.sched_getaffinity(0)) // 2 // max(1, local)))
    torch.set_num_threads(max(1, threads))
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        device = torch.device("cuda", group.local_rank) if group.active else torch.device("cuda")
        log.info("training on GPU", gpu=torch.cuda.get_device_name(device), rank=group.rank, world=group.world)
    else:
        device = torch.device("cpu")
        log.info("training on CPU", threads=torch.get_num_threads(), rank=group.rank, world=group.world)
    return device


@dataclass
class Inputs:
    """The training and validation splits and the statistics prepare computed from the training split."""

    stats: dict[str, Any]
    train: list[data.Review]
    validation: list[data.Review]

    @property
    def class_weights(self) -> tuple[float, float, float]:
        w = self.stats["classWeights"]
        return (float(w[0]), float(w[1]), float(w[2]))

    @property
    def fingerprint(self) -> str:
        return str(self.stats["fingerprint"])

    @property
    def train_texts(self) -> list[str]:
        return [r.text for r in self.train]

    @property
    def validation_texts(self) -> list[str]:
        return [r.text for r in self.validation]


def load_inputs(args: JobArgs, log: Logger) -> Inputs:
    stats = data.read_stats(args.data_dir)
    train = data.read_split(args.data_dir, "train")
    validation = data.read_split(args.data_dir, "validation")
    log.info("read the prepared splits", trainRows=len(train), validationRows=len(validation), dataDir=args.data_dir)
    return Inputs(stats=stats, train=train, validation=validation)


def encode_splits(source: ModelSource, inputs: Inputs, weights: list[float] | None = None) -> tuple[Encoded, Encoded]:
    return data.encode(source.tokenizer, inputs.train, weights), data.encode(source.tokenizer, inputs.validation)


#: How many earlier attempts a job looks at for a study or checkpoint to resume (the pipeline's budgets keep a
#: step far below this; each look is one object lookup).
LOOK_BACK = 20


def attempt_dirs(args: JobArgs, step: str) -> list[str]:
    """Folders of this step's latest earlier attempts, newest first (`<runDir>/<step>/a<k>`)."""
    oldest = max(1, args.attempt - LOOK_BACK)
    return [f"{args.run_dir.rstrip('/')}/{step}/a{k}" for k in range(args.attempt - 1, oldest - 1, -1)]
