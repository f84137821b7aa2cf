"""Per-epoch checkpoints, so a preempted or killed training resumes where it stopped.

A checkpoint carries a key (model, hyperparameters, data fingerprint, mitigation, seed): a checkpoint of other work is
never resumed. The job looks in its own checkpoint folder first, then in those of earlier attempts of the same step.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

import torch

from . import storage
from .args import HyperParams, JobArgs, MitigationPlan
from .logs import Logger

FILE = "checkpoint.pt"


def work_key(args: JobArgs, model_name: str, params: HyperParams, mitigation: MitigationPlan | None, fingerprint: str) -> str:
    """Everything that makes two trainings the same work; a checkpoint of other work is never resumed. A tuning trial
    and a training given the same hyperparameters get the same key."""
    work = {
        "model": model_name,
        "params": params.to_json(),
        "mitigation": mitigation.to_json() if mitigation else None,
        "data": fingerprint,
        "seed": args.seed,
        "maxLength": args.max_length,
        "useSideFeatures": args.use_side_features,
        "warmupRatio": args.warmup_ratio,
        "maxGradNorm": args.max_grad_norm,
        "patience": args.early_stopping_patience,
    }
    return hashlib.sha256(json.dumps(work, sort_keys=True).encode()).hexdigest()


@dataclass
class CheckpointStore:
    dir_uri: str
    key: str
    log: Logger
    fallbacks: tuple[str, ...] = ()
    #: Saved with every checkpoint (the tokenizer a tiny model learned, say), so a resume rebuilds the same model.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return storage.join(self.dir_uri, FILE)

    def load(self) -> dict[str, Any] | None:
        """The newest usable checkpoint: own folder first, then earlier attempts' unfinished ones."""
        for i, folder in enumerate((self.dir_uri, *self.fallbacks)):
            uri = storage.join(folder, FILE)
            try:
                if not storage.exists(uri):
                    continue
                state = torch.load(io.BytesIO(storage.read_bytes(uri)), map_location="cpu", weights_only=True)
            except Exception as err:  # a torn or foreign file must not stop the job: start over instead
                self.log.warn(f"ignoring unreadable checkpoint {uri}: {err}")
                continue
            if state.get("key") != self.key:
                self.log.info(f"ignoring checkpoint {uri}: it belongs to other work")
                continue
            if i > 0 and state.get("finished"):
                self.log.info(f"ignoring checkpoint {uri}: that attempt finished")
                continue
            self.log.info(f"resuming from checkpoint {uri}", checkpointEpoch=state["epoch"])
            return dict(state)
        return None

    def save(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save({**state, **self.extra, "key": self.key}, buffer)
        storage.write_bytes(self.uri, buffer.getvalue())
