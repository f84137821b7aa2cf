"""The tiny model fitted by one rank of a gloo group (or by one process): the DDP equivalence test's and bench's body.

Both compare one process against two gloo ranks with the same global batch; they differ only in sizes, so the fit
itself lives here once. Rank 0 writes `{"history": [...], "seconds": s}` to `out`.
"""

from __future__ import annotations

import json
import os
import random
import socket
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for the group's rendezvous."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fit_tiny(rank: int, world: int, port: int, out: str, rows: int = 300, batch: int = 25, epochs: int = 3, dropout: float = 0.0) -> None:
    """One rank of `world` (or the single process when world is 1) trains the tiny model on `rows` synthetic reviews."""
    import torch
    import torch.distributed as dist
    from synthetic import review
    from torch import nn

    from sentiment_trainer import data
    from sentiment_trainer.distributed import SINGLE, Group
    from sentiment_trainer.models import tiny_source
    from sentiment_trainer.train_loop import FitConfig, fit

    torch.set_num_threads(1)
    group = SINGLE
    if world > 1:
        os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
        dist.init_process_group("gloo", rank=rank, world_size=world)
        group = Group(rank, world, rank)
    rng = random.Random(3)
    made = [review(rng, rng.choice([0, 0, 1, 2, 2, 2]), i) for i in range(rows)]
    reviews = [data.Review(f"{r['title']} {r['text']}", r["labelId"], tuple(r["features"]), {}) for r in made]
    cut = rows * 4 // 5
    source = tiny_source([r.text for r in reviews[:cut]], 48)
    # Uneven example weights (as bias mitigation gives): the global batch's weight must normalise every rank's loss.
    train = data.encode(source.tokenizer, reviews[:cut], [1.0 + (i % 3) for i in range(cut)])
    validation = data.encode(source.tokenizer, reviews[cut:])
    model = source.new_classifier(5, 4, dropout)
    if dropout == 0:
        for m in model.modules():  # the encoder's own dropout too: the ranks draw other random masks than one process
            if isinstance(m, nn.Dropout):
                m.p = 0.0
    cfg = FitConfig(batch, epochs, 1e-3, 0.01, 0.1, 1.0, 0, 7, True, source.pad_id, (1.0, 2.0, 0.8))
    began = time.perf_counter()
    result = fit(model, train, validation, cfg, torch.device("cpu"), group=group)
    if rank == 0:
        Path(out).write_text(json.dumps({"history": result.history, "seconds": time.perf_counter() - began}))
    if world > 1:
        dist.destroy_process_group()
