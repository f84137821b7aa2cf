"""Training throughput of the trainer's step against Hugging Face `Trainer` with default fp32 settings, same run.

Standalone: needs only torch and transformers (plus accelerate, which `Trainer` itself needs); it imports the
trainer's own torch-only modules (classifier, step, batching) from gpu-jobs/trainer, so it measures the real code.
A bert-base-sized encoder with random weights (speed does not depend on them), sequences of `--seq` tokens, the same
batch size for both. Prints one JSON line. `--smoke` runs tiny sizes on CPU in seconds (used by the tests).

Beside examples/s it reports model FLOPs utilisation (MFU): the model's training FLOPs per example (6 x parameters x
tokens, plus the attention matrices, 12 x layers x width x tokens^2) times examples/s, over the device's dense bf16
peak (a table of known GPUs, or --peak-tflops). The same peak divides both contenders, so MFU ratios are speedups.

Contenders: Hugging Face `Trainer` fp32 (the baseline), the trainer's eager step, and optionally the step with the
classifier compiled (--compile: torch.compile default mode; --graphs: mode "reduce-overhead", which replays CUDA graphs
so the host no longer issues each kernel; the trainer's dynamic padding would give one graph per length bucket, which
--buckets emulates by cycling the sequence length over buckets). With two or more GPUs (and not --no-ddp), it also
times the eager step under DistributedDataParallel on 2 GPUs at the same per-GPU batch: scaling efficiency is the
2-GPU examples/s over twice the 1-GPU figure.

    python bench/trainer/gpu_bench.py --batches 32,64 --graphs --compile   # bert-base, length 128, on the GPU
    python bench/trainer/gpu_bench.py --smoke                              # tiny, on whatever device there is
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "gpu-jobs" / "trainer"))

from sentiment_trainer.batching import Encoded, collate  # noqa: E402
from sentiment_trainer.classifier import SentimentClassifier  # noqa: E402
from sentiment_trainer.step import make_optimizer, make_scheduler, to_device, train_step  # noqa: E402

SIZES = {
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "vocab_size": 30522},
    "smoke": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 500},
}


#: Dense bf16 peak TFLOP/s by device name (vendor datasheets, without sparsity).
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 80GB HBM3": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0, "L4": 121.0, "A10G": 125.0, "T4": 65.0, "V100": 125.0}


def peak_tflops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def flops_per_example(cfg: Any, seq: int) -> float:
    """Training FLOPs of one example: 6 per parameter per token (forward 2, backward 4), embeddings excluded, plus
    the attention scores and their use (2 x 2 x width x tokens^2 per layer forward, x3 with the backward)."""
    h, layers, inter = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size
    per_layer = 4 * h * h + 2 * h * inter
    return 6.0 * layers * per_layer * seq + 12.0 * layers * h * seq * seq


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def random_data(n: int, seq: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (n, seq), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3
    return ids, torch.randint(0, 3, (n,), generator=g)


def bench_ours(
    cfg: Any,
    ids: torch.Tensor,
    labels: torch.Tensor,
    batch: int,
    warmup: int,
    steps: int,
    device: torch.device,
    compile_encoder: bool = False,
    compile_mode: str | None = None,
    buckets: tuple[int, ...] = (),
    ddp: bool = False,
) -> dict[str, float]:
    """The trainer's path: bf16 autocast on GPU, TF32 for what stays fp32, fused AdamW, weighted loss, clipping.
    `compile_mode`: the whole classifier compiled ("default" or "reduce-overhead" for CUDA graphs). `buckets`: each
    step's sequences are cut to the next bucket length in turn, as the trainer's length-grouped batches vary."""
    from transformers import BertModel

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    model = SentimentClassifier(BertModel(cfg, add_pooling_layer=False), cfg.hidden_size, 4, 0.1).to(device).train()
    if compile_encoder:
        model.encoder = torch.compile(model.encoder)
    net: torch.nn.Module = model
    if ddp:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index])
    if compile_mode:
        net = torch.compile(net, mode=compile_mode, dynamic=False)  # type: ignore[assignment]
    optimizer = make_optimizer(model, 2e-5, 0.01, device)
    scheduler = make_scheduler(optimizer, warmup + steps, 0.1)
    class_weights = torch.ones(3, device=device)
    data = Encoded(ids=ids.tolist(), features=torch.zeros(len(ids), 4), labels=labels, weights=torch.ones(len(ids)))
    n_batches = len(ids) // batch

    def run(k: int, start: int) -> None:
        for s in range(start, start + k):
            b = s % n_batches
            index = list(range(b * batch, (b + 1) * batch))
            rows = to_device(collate(data, index, 0), device)
            if buckets:
                width = buckets[s % len(buckets)]
                rows = {**rows, "input_ids": rows["input_ids"][:, :width].contiguous(), "attention_mask": rows["attention_mask"][:, :width].contiguous()}
            train_step(net, rows, optimizer, scheduler, class_weights, 1.0, True)

    run(warmup, 0)
    sync(device)
    began = time.perf_counter()
    run(steps, warmup)
    sync(device)
    seconds = time.perf_counter() - began
    result = {"examples_per_s": steps * batch / seconds, "seconds": seconds}
    if device.type == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        torch.cuda.reset_peak_memory_stats()
    return result


def _ddp_rank(rank: int, port: int, size: str, seq: int, batch: int, warmup: int, steps: int, out: str) -> None:
    """One of two DDP processes: the eager step on its own GPU, the same per-GPU batch; rank 0 writes the figure."""
    import torch.distributed as dist
    from transformers import BertConfig

    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    dist.init_process_group("nccl", rank=rank, world_size=2)
    device = torch.device("cuda", rank)
    torch.cuda.set_device(device)
    ids, labels = random_data(batch * max(8, min(steps, 64)), seq, SIZES[size]["vocab_size"], seed=1 + rank)
    cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
    dist.barrier()
    r = bench_ours(cfg, ids, labels, batch, warmup, steps, device, ddp=True)
    seconds = torch.tensor([r["seconds"]], device=device)
    dist.all_reduce(seconds, op=dist.ReduceOp.MAX)  # the slower rank sets the pace
    if rank == 0:
        Path(out).write_text(json.dumps({"examples_per_s": 2 * steps * batch / float(seconds.item())}))
    dist.destroy_process_group()


def bench_ddp(size: str, seq: int, batch: int, warmup: int, steps: int) -> dict[str, float]:
    import socket
    import tempfile

    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "ddp.json")
        mp.spawn(_ddp_rank, args=(port, size, seq, batch, warmup, steps, out), nprocs=2, join=True)
        return dict(json.loads(Path(out).read_text()))


class _Rows(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    def __init__(self, ids: torch.Tensor, labels: torch.Tensor) -> None:
        self.ids, self.labels = ids, labels

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.labels[i]}


def bench_trainer(cfg: Any, ids: torch.Tensor, labels: torch.Tensor, batch: int, warmup: int, steps: int, device: torch.device, out: str) -> dict[str, float]:
    """Hugging Face `Trainer`, TrainingArguments defaults (fp32, no TF32) except the batch size and step count."""
    from transformers import BertForSequenceClassification, Trainer, TrainerCallback, TrainingArguments

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    marks: dict[str, float] = {}

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == warmup:
                sync(device)
                marks["start"] = time.perf_counter()
            elif state.global_step == warmup + steps:
                sync(device)
                marks["end"] = time.perf_counter()

    torch.manual_seed(0)
    cfg.num_labels = 3
    model = BertForSequenceClassification(cfg)
    args = TrainingArguments(
        output_dir=out,
        per_device_train_batch_size=batch,
        max_steps=warmup + steps,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=device.type == "cpu",
    )
    with contextlib.redirect_stdout(sys.stderr):  # Trainer prints its summary: stdout carries only our JSON line
        Trainer(model=model, args=args, train_dataset=_Rows(ids, labels), callbacks=[Clock()]).train()
    seconds = marks["end"] - marks["start"]
    result = {"examples_per_s": steps * batch / seconds, "seconds": seconds}
    if device.type == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        torch.cuda.reset_peak_memory_stats()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few steps: checks the script runs")
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes, each timed in turn (overrides --batch)")
    parser.add_argument("--steps", type=int, default=60, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="alternate the contenders this many times; medians reported")
    parser.add_argument("--compile", action="store_true", help="also time the step with the whole classifier torch.compile'd")
    parser.add_argument("--graphs", action="store_true", help="also time the step compiled with CUDA graphs (mode reduce-overhead)")
    parser.add_argument("--buckets", default="", help="comma-separated sequence lengths the compiled contenders cycle through (one graph each)")
    parser.add_argument("--no-ddp", action="store_true", help="skip the 2-GPU DDP scaling run even with several GPUs")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's dense bf16 peak, for MFU (default: from a table)")
    parser.add_argument("--out", default=os.environ.get("TMPDIR", "/tmp") + "/sp-gpu-bench")
    a = parser.parse_args(argv)
    from transformers import BertConfig

    size = "smoke" if a.smoke else "base"
    seq, steps, warmup = (16, 3, 1) if a.smoke else (a.seq, a.steps, a.warmup)
    batches = [4] if a.smoke else [int(b) for b in (a.batches or str(a.batch)).split(",")]
    buckets = tuple(int(x) for x in a.buckets.split(",") if x) if a.buckets else ()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    peak = peak_tflops(device, a.peak_tflops)
    flops = flops_per_example(BertConfig(**SIZES[size]), seq)
    extra = [*(["compiled"] if a.compile else []), *(["graphs"] if a.graphs else [])]
    by_batch: list[dict[str, Any]] = []
    for batch in batches:
        ids, labels = random_data(batch * max(8, min(steps, 64)), seq, SIZES[size]["vocab_size"], seed=1)
        runs: dict[str, list[dict[str, float]]] = {"trainer_fp32": [], "ours": [], **{f"ours_{k}": [] for k in extra}}
        for _ in range(a.repeats):
            cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
            runs["trainer_fp32"].append(bench_trainer(cfg, ids, labels, batch, warmup, steps, device, a.out))
            cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
            runs["ours"].append(bench_ours(cfg, ids, labels, batch, warmup, steps, device))
            for k in extra:
                cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
                mode = "reduce-overhead" if k == "graphs" else "default"
                runs[f"ours_{k}"].append(bench_ours(cfg, ids, labels, batch, warmup, steps, device, compile_mode=mode, buckets=buckets))

        def median(name: str, runs: dict[str, list[dict[str, float]]] = runs) -> float:
            xs = sorted(r["examples_per_s"] for r in runs[name])
            return xs[len(xs) // 2]

        base = round(median("trainer_fp32"), 2)
        row: dict[str, Any] = {"batch": batch, "baseline_examples_per_s": base}
        for name in ("ours", *(f"ours_{k}" for k in extra)):
            eps = round(median(name), 2)
            row[f"{name}_examples_per_s"] = eps
            # From the rounded figures, so that the printed ratio is the ratio of the printed numbers.
            row["speedup" if name == "ours" else f"{name}_speedup"] = round(eps / base, 3)
        if peak:
            for name in runs:
                row[f"{name}_mfu"] = round(median(name) * flops / (peak * 1e12), 4)
        if device.type == "cuda" and torch.cuda.device_count() > 1 and not a.no_ddp:
            ddp = bench_ddp(size, seq, batch, warmup, steps)
            row["ddp_2gpu_examples_per_s"] = round(ddp["examples_per_s"], 2)
            row["ddp_2gpu_efficiency"] = round(ddp["examples_per_s"] / (2 * median("ours")), 3)
        row["runs"] = runs
        by_batch.append(row)

    first = by_batch[0]
    result: dict[str, Any] = {
        "bench": "trainer-gpu",
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "gpus": torch.cuda.device_count() if device.type == "cuda" else 0,
        "model": size,
        "seq": seq,
        "steps": steps,
        "repeats": a.repeats,
        "torch": torch.__version__,
        "peak_bf16_tflops": peak,
        "flops_per_example": flops,
        # The first batch size's figures at the top, as before; every batch size in by_batch.
        **{k: v for k, v in first.items() if k != "runs"},
        "by_batch": by_batch,
    }
    assert all(math.isfinite(v) for v in (result["baseline_examples_per_s"], result["ours_examples_per_s"]))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
