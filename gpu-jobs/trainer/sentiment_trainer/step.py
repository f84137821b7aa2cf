"""One optimisation step and its parts: AdamW with linear warmup and decay, weighted loss, bf16 autocast, clipping,
and the compiled step (torch.compile with CUDA graphs over length buckets).

Torch only, so the GPU benchmark measures exactly this code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")

#: `training.compileStep`: "auto" compiles on a GPU when the run is long enough to repay compiling, "graphs" always
#: compiles (CUDA graphs on a GPU; on a CPU a plain compile, for tests), "off" never does.
COMPILE_MODES = ("auto", "graphs", "off")
#: Sequence lengths of a compiled step are rounded up to multiples of this: one CUDA graph per bucket.
BUCKET = 32
#: "auto" compiles when a fit plans at least this many steps. Measured on an H200 (docs/benchmarks.md): compiling
#: BERT-base's forward and backward took 42-48 s, and at batch 32 a graphed step took 9.6 ms against the eager step's
#: 38 ms, so the compile pays for itself after about 1,700 steps.
AUTO_MIN_STEPS = 2000


def use_compiled_step(mode: str, device: torch.device, data_parallel: bool, planned_steps: int) -> bool:
    """Whether a fit runs the compiled step. Under DistributedDataParallel the step stays eager: graphs and DDP's
    gradient hooks have not been measured together here."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile mode {mode!r} is not one of {', '.join(COMPILE_MODES)}")
    if mode == "off" or data_parallel:
        return False
    if mode == "graphs":
        return True
    return device.type == "cuda" and planned_steps >= AUTO_MIN_STEPS


@dataclass(frozen=True)
class CompiledStep:
    """The classifier compiled for training, with what each of its steps needs: `fit` and the GPU benchmark run it the
    same way (`collate(..., **step.shape)`, then `step.prepare(batch)`, then `train_step(step.net, ...)`)."""

    #: The compiled module; it shares the classifier's parameters, and evaluation keeps calling the classifier itself.
    net: nn.Module
    #: collate's fixed-shape arguments: every batch filled to the batch size, lengths rounded up to a bucket.
    shape: dict[str, int]
    #: Whether each step replays a CUDA graph (Inductor on CUDA).
    graphed: bool

    def prepare(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Marks the sequence dimension dynamic, so that a new bucket length does not compile the step again, and tells
        the CUDA graph trees a new training step begins (their outputs of the last one may be overwritten)."""
        for key in ("input_ids", "attention_mask"):
            torch._dynamo.maybe_mark_dynamic(batch[key], 1)
        if self.graphed:
            mark = getattr(torch.compiler, "cudagraph_mark_step_begin", None)
            if mark is not None:
                mark()
        return batch


def compile_step(model: nn.Module, device: torch.device, batch_size: int, longest: int, backend: str = "inductor") -> CompiledStep:
    """The classifier compiled for training: with Inductor on CUDA in mode "reduce-overhead", so that each step replays
    a CUDA graph instead of the host issuing hundreds of kernels (the eager step at batch 32 is bound by the host).
    The sequence length is dynamic (`CompiledStep.prepare`): one compile serves every bucket, and a graph is recorded
    per bucket. `longest`: the data's longest row, past which no bucket pads."""
    graphed = device.type == "cuda" and backend == "inductor"
    net = torch.compile(model, backend=backend, mode="reduce-overhead" if graphed else None)
    return CompiledStep(net, {"rows": batch_size, "width_multiple": BUCKET, "longest": longest}, graphed)  # type: ignore[arg-type]


def make_optimizer(model: nn.Module, lr: float, weight_decay: float, device: torch.device) -> torch.optim.AdamW:
    """AdamW; biases and norm weights take no decay. Fused kernels on CUDA."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if name.endswith(NO_DECAY) else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, fused=device.type == "cuda")


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over `warmup_ratio` of the steps, then linear decay to zero."""
    warmup = int(total_steps * warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def weighted_loss(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, class_weights: torch.Tensor, denominator: float | None = None
) -> torch.Tensor:
    """Cross-entropy where each example counts class weight x example weight, normalised by the batch's total weight.

    Under data parallelism a rank holds part of the global batch: `denominator` is then the global batch's total weight
    over the world size, so that the mean of the ranks' gradients (what DDP computes) is the global batch's gradient."""
    per_example = F.cross_entropy(logits.float(), labels, reduction="none")
    w = class_weights[labels] * weights
    total = w.sum().clamp_min(1e-12) if denominator is None else max(denominator, 1e-12)
    return (per_example * w).sum() / total


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    if device.type == "cuda":
        return {k: v.pin_memory().to(device, non_blocking=True) for k, v in batch.items()}
    return batch


def train_step(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    class_weights: torch.Tensor,
    max_grad_norm: float,
    use_features: bool,
    denominator: float | None = None,
) -> torch.Tensor:
    """Forward under bf16 autocast on GPU (fp32 on CPU), weighted loss, backward, clip, step. Returns the loss tensor
    (not synchronised: call .item() only when needed)."""
    device = class_weights.device
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        logits = model(batch["input_ids"], batch["attention_mask"], batch["features"] if use_features else None)
    loss = weighted_loss(logits, batch["labels"], batch["weights"], class_weights, denominator)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()
