"""One optimisation step and its parts: AdamW with linear warmup and decay, weighted loss, bf16 autocast, clipping.

Torch only, so the GPU benchmark measures exactly this code.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


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
