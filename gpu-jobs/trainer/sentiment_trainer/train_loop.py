"""The training loop: epochs of length-grouped batches, validation each epoch, early stopping, per-epoch checkpoints.

Under data parallelism (a `Group` of several ranks) every rank forms the same global batches and trains on its slice
of each, so each rank takes the same number of steps on rows of similar length, and the averaged gradient is the
global batch's: the run matches one process with the same batch size. Validation is split across the ranks and
gathered, so every rank sees the metrics of the whole validation set and takes the same early-stopping decisions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from . import metrics
from .args import HyperParams, JobArgs
from .batching import Encoded, collate, length_grouped_batches, sequential_batches
from .checkpoints import CheckpointStore
from .distributed import SINGLE, Group, agree, all_gather, shard, sum_across
from .step import compile_step, make_optimizer, make_scheduler, to_device, train_step, use_compiled_step


@dataclass(frozen=True)
class FitConfig:
    batch_size: int
    epochs: int
    learning_rate: float
    weight_decay: float
    warmup_ratio: float
    max_grad_norm: float
    patience: int
    seed: int
    use_features: bool
    pad_id: int
    class_weights: tuple[float, float, float]
    #: training.compileStep: "auto", "graphs" or "off" (step.use_compiled_step).
    compile_step: str = "off"
    #: torch.compile's backend for the compiled step: "inductor"; tests on a CPU use "aot_eager" (no code generation).
    compile_backend: str = "inductor"


def fit_config(params: HyperParams, args: JobArgs, pad_id: int, class_weights: tuple[float, float, float]) -> FitConfig:
    """The fit of one parameter set under a job's settings: a trial and the training job fit the same way."""
    return FitConfig(
        batch_size=params.batch_size,
        epochs=params.epochs,
        learning_rate=params.learning_rate,
        weight_decay=params.weight_decay,
        warmup_ratio=args.warmup_ratio,
        max_grad_norm=args.max_grad_norm,
        patience=args.early_stopping_patience,
        seed=args.seed,
        use_features=args.use_side_features,
        pad_id=pad_id,
        class_weights=class_weights,
        compile_step=args.compile_step,
    )


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    epochs: int
    train_loss: float
    validation: dict[str, float]
    train_seconds: float
    examples_per_second: float
    improved: bool


@dataclass(frozen=True)
class BatchInfo:
    """Where training is, after a batch: counts from 1 (batch 1 of epoch 1 is the first)."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    examples: int
    #: Seconds of training (not validation) since fit started or resumed, over the batches it ran.
    seconds: float
    batches_run: int


@dataclass
class FitResult:
    best: dict[str, float]
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    resumed_from: int | None
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Whether the steps ran compiled (CUDA graphs over length buckets on a GPU).
    compiled_step: bool = False


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


@torch.no_grad()
def predict_logits(model: nn.Module, data: Encoded, pad_id: int, device: torch.device, use_features: bool, batch_size: int = 128) -> torch.Tensor:
    """Logits for every row, in row order (batches are formed by length, then put back)."""
    model.eval()
    out = torch.empty((len(data), 3), dtype=torch.float32)
    for index in sequential_batches(data.lengths, batch_size):
        batch = to_device(collate(data, index, pad_id), device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(batch["input_ids"], batch["attention_mask"], batch["features"] if use_features else None)
        out[torch.tensor(index)] = logits.float().cpu()
    return out


@torch.no_grad()
def _predict_shard(model: nn.Module, data: Encoded, pad_id: int, device: torch.device, use_features: bool, group: Group, batch_size: int = 128) -> dict[int, int]:
    """Predicted labels of this rank's share of the evaluation batches, by row."""
    model.eval()
    out: dict[int, int] = {}
    for index in sequential_batches(data.lengths, batch_size)[group.rank :: group.world]:
        batch = to_device(collate(data, index, pad_id), device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(batch["input_ids"], batch["attention_mask"], batch["features"] if use_features else None)
        out.update(zip(index, logits.float().argmax(dim=-1).tolist()))
    return out


def evaluate(model: nn.Module, data: Encoded, pad_id: int, device: torch.device, use_features: bool, group: Group = SINGLE) -> dict[str, float]:
    """Metrics over the whole split; with several ranks each predicts its share and all gather the rest."""
    if not group.active:
        preds = predict_logits(model, data, pad_id, device, use_features).argmax(dim=-1)
        return metrics.summary(data.labels.tolist(), preds.tolist())
    merged: dict[int, int] = {}
    for part in all_gather(group, _predict_shard(model, data, pad_id, device, use_features, group)):
        merged.update(part)
    if len(merged) != len(data):
        raise RuntimeError(f"the ranks predicted {len(merged)} of {len(data)} validation rows")
    return metrics.summary(data.labels.tolist(), [merged[i] for i in range(len(data))])


def _data_parallel(model: nn.Module, device: torch.device, group: Group) -> nn.Module:
    """The module the training steps run: DDP over `model` when there are several ranks (it broadcasts rank 0's weights,
    so all ranks start equal). static_graph: the encoder may hold parameters the loss never reaches (a pooler)."""
    if not group.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None, static_graph=True)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def fit(
    model: nn.Module,
    train: Encoded,
    validation: Encoded,
    cfg: FitConfig,
    device: torch.device,
    checkpoints: CheckpointStore | None = None,
    on_epoch: Callable[[EpochResult], None] | None = None,
    resume: dict[str, Any] | None = None,
    on_batch: Callable[[BatchInfo], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    group: Group = SINGLE,
) -> FitResult:
    """Trains `model` in place and leaves it holding the weights of its best validation epoch (weighted F1).

    `resume` is a checkpoint loaded by the caller (it may carry what the model was built from); each epoch is saved
    to `checkpoints`. `on_epoch` runs after that save; raising from it (a pruned trial) stops training. `on_batch` runs
    after every batch (progress, mid-epoch pruning probes; it may put the model in eval mode, fit puts it back).
    `should_stop` is asked after every batch: true ends the epoch there (validated and checkpointed) and training with
    it, as early stopping does (a study's time budget running out).

    With a `group` of several ranks, `model` is wrapped in DistributedDataParallel here; only the chief should be given
    `checkpoints`, `on_epoch` and `on_batch` (the caller's choice), and every rank must be given the same `resume`."""
    model.to(device)
    class_weights = torch.tensor(cfg.class_weights, dtype=torch.float32, device=device)
    optimizer = make_optimizer(model, cfg.learning_rate, cfg.weight_decay, device)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    scheduler = make_scheduler(optimizer, steps_per_epoch * cfg.epochs, cfg.warmup_ratio)

    start, best_score, best_epoch, bad_epochs, stopped = 1, -1.0, 0, 0, False
    best_metrics: dict[str, float] = {}
    best_state: dict[str, torch.Tensor] | None = None
    history: list[dict[str, Any]] = []
    resumed_from: int | None = None
    state = resume
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _restore_rng(state["rng"])
        start, resumed_from = int(state["epoch"]) + 1, int(state["epoch"])
        best_score, best_epoch, bad_epochs = float(state["best_score"]), int(state["best_epoch"]), int(state["bad_epochs"])
        best_metrics, history, stopped = dict(state["best_metrics"]), list(state["history"]), bool(state["stopped"])
        best_state = state["best_state"] if state["best_state"] is not None else _snapshot(model)
    agree(group, "the checkpoint resumed", None if state is None else [state.get("key"), int(state["epoch"])])
    step = None
    if use_compiled_step(cfg.compile_step, device, group.active, steps_per_epoch * (cfg.epochs - start + 1)):
        # A study fits many models in one process: drop the compiled code and CUDA graphs (and their memory pools) of
        # the last fit first. Compiling again reads Inductor's on-disk cache.
        torch._dynamo.reset()
        step = compile_step(model, device, cfg.batch_size, max(train.lengths, default=1), cfg.compile_backend)
    net = step.net if step else _data_parallel(model, device, group)
    # Each example's loss weight, on the CPU: a rank computes the whole global batch's weight without talking to others.
    example_weight = torch.tensor(cfg.class_weights, dtype=torch.float32)[train.labels] * train.weights.float()

    train_seconds, batches_run = 0.0, 0
    for epoch in range(start, cfg.epochs + 1):
        if stopped:
            break
        model.train()
        began = time.perf_counter()
        paused, cut = 0.0, False
        loss_sum = torch.zeros((), device=device)
        batches = length_grouped_batches(train.lengths, cfg.batch_size, cfg.seed * 1000 + epoch)
        for number, index in enumerate(batches, start=1):
            if group.active:
                mine = shard(index, group)
                batch = collate(train, mine, cfg.pad_id)
                if group.rank * len(index) // group.world == (group.rank + 1) * len(index) // group.world:
                    batch["weights"] = torch.zeros_like(batch["weights"])  # a stand-in row: it must step, not count
                denominator = float(example_weight[index].sum()) / group.world
                loss = train_step(net, to_device(batch, device), optimizer, scheduler, class_weights, cfg.max_grad_norm, cfg.use_features, denominator)
                # This rank's part of the global batch loss (the ranks' parts sum to it), times the batch's rows.
                loss_sum += loss * len(index) / group.world
            else:
                batch = to_device(collate(train, index, cfg.pad_id, **(step.shape if step else {})), device)
                if step:
                    step.prepare(batch)
                loss = train_step(net, batch, optimizer, scheduler, class_weights, cfg.max_grad_norm, cfg.use_features)
                loss_sum += loss * len(index)
            batches_run += 1
            if on_batch:
                hook = time.perf_counter()
                spent = hook - began - paused
                on_batch(BatchInfo(epoch, cfg.epochs, number, len(batches), len(index), train_seconds + spent, batches_run))
                paused += time.perf_counter() - hook
                model.train()
            if should_stop is not None and should_stop():
                # The epoch ends here: validated and checkpointed like a whole one, and training stops after it.
                cut = True
                break
        examples = len(train) if not cut else sum(len(b) for b in batches[:number])
        train_loss = float(sum_across(group, loss_sum).item()) / max(1, examples)
        seconds = time.perf_counter() - began - paused
        train_seconds += seconds
        validation_metrics = evaluate(model, validation, cfg.pad_id, device, cfg.use_features, group)
        improved = validation_metrics["weightedF1"] > best_score
        if improved:
            best_score, best_epoch, best_metrics, bad_epochs = validation_metrics["weightedF1"], epoch, validation_metrics, 0
            best_state = _snapshot(model)
        else:
            bad_epochs += 1
        stopped = (cfg.patience > 0 and bad_epochs >= cfg.patience) or cut
        result = EpochResult(epoch, cfg.epochs, train_loss, validation_metrics, seconds, examples / max(seconds, 1e-9), improved)
        history.append({"epoch": epoch, "trainLoss": train_loss, "examplesPerSecond": result.examples_per_second, **validation_metrics})
        if checkpoints:
            checkpoints.save(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": _rng_state(),
                    "best_score": best_score,
                    "best_epoch": best_epoch,
                    "best_metrics": best_metrics,
                    # The best weights are the current ones when this epoch improved: store them once.
                    "best_state": None if best_epoch == epoch else best_state,
                    "bad_epochs": bad_epochs,
                    "history": history,
                    "stopped": stopped,
                    "finished": stopped or epoch == cfg.epochs,
                }
            )
        if on_epoch:
            on_epoch(result)

    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(
        best=best_metrics,
        best_epoch=best_epoch,
        epochs_run=len(history),
        stopped_early=stopped,
        resumed_from=resumed_from,
        history=history,
        compiled_step=step is not None,
    )
