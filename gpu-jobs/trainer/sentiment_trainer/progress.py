"""Progress inside a job: job.progress events every few seconds with the batch, and an estimate of the time left."""

from __future__ import annotations

import time
from collections.abc import Callable

from .events import Emitter
from .train_loop import BatchInfo

#: Batches measured before the first estimate (the first steps are slower: allocation, caches).
WARM_BATCHES = 3
#: Seconds between two progress events of one job.
EVERY_S = 10.0


def duration(seconds: float) -> str:
    """`95` -> `1 min 35 s`."""
    s = max(0, round(seconds))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


class BatchProgress:
    """Throttled batch progress. `eta` turns the measured seconds per batch into seconds left for the whole job."""

    def __init__(self, events: Emitter, clock: Callable[[], float] = time.monotonic, every_s: float = EVERY_S) -> None:
        self.events, self.clock, self.every_s = events, clock, every_s
        self.last: float | None = None

    @staticmethod
    def seconds_per_batch(info: BatchInfo) -> float | None:
        return info.seconds / info.batches_run if info.batches_run >= WARM_BATCHES else None

    def batch(self, info: BatchInfo, label: str, eta: float | None, metrics: dict[str, float] | None = None) -> None:
        now = self.clock()
        due = self.last is None or now - self.last >= self.every_s or info.batch == info.batches
        if not due or info.batches_run < WARM_BATCHES:
            return
        self.last = now
        left = f", about {duration(eta)} left" if eta is not None else ""
        message = f"{label}epoch {info.epoch}/{info.epochs}, batch {info.batch}/{info.batches}{left}"
        rate = {"examplesPerSecond": info.examples * info.batches_run / max(info.seconds, 1e-9)}
        self.events.progress("batch", info.batch, info.batches, message, {**rate, **(metrics or {})}, eta)
