"""Training throughput of the trainer's step against Hugging Face `Trainer` with default fp32 settings, same run.

Standalone: needs only torch and transformers (plus accelerate, which `Trainer` itself needs); it imports the
trainer's own torch-only modules (classifier, step, batching) from gpu-jobs/trainer, so it measures the real code.
A bert-base-sized encoder with random weights (speed does not depend on them), sequences of `--seq` tokens, the same
batch size for both. Prints one JSON line. `--smoke` runs tiny sizes on CPU in seconds (used by the tests).

Beside examples/s it reports model FLOPs utilisation (MFU): the model's training FLOPs per example (6 x parameters x
tokens, plus the attention matrices, 12 x layers x width x tokens^2) times examples/s, over the device's dense bf16
peak (a table of known GPUs, or --peak-tflops). The same peak divides both contenders, so MFU ratios are speedups.

Contenders: Hugging Face `Trainer` fp32 (the baseline), the trainer's eager step, and with --compiled the trainer's
compiled step exactly as `fit` runs it with training.compileStep "graphs" (step.compile_step: torch.compile mode
"reduce-overhead", CUDA graphs replayed so that the host no longer issues each kernel; batches filled to the batch size
and lengths rounded up to buckets of 32, the length marked dynamic). Its warm-up, which holds the compile, is reported
as `warmup_seconds`. With two or more GPUs (and not --no-ddp), it also times the eager step under
DistributedDataParallel on 2 GPUs at the same per-GPU batch: scaling efficiency is the 2-GPU examples/s over twice the
1-GPU figure.

--fit-check trains the trainer's `fit` twice on reviews of varied lengths (16 to --seq tokens, so several buckets),
eager and compiled, dropout off, and prints their losses, metrics and examples/s per epoch: the compiled step must
train the same model, and the first epoch shows what compiling costs.

    python bench/trainer/gpu_bench.py --batches 32,64 --compiled      # bert-base, length 128, on the GPU
    python bench/trainer/gpu_bench.py --fit-check                     # eager vs compiled fit, same data
    python bench/trainer/gpu_bench.py --smoke                         # tiny, on whatever device there is
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
from sentiment_trainer.step import compile_step, make_optimizer, make_scheduler, to_device, train_step  # noqa: E402

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


def _backend(device: torch.device) -> str:
    """Inductor on a GPU; on a CPU (the smoke run) "aot_eager", which traces the same graphs without generating code."""
    return "inductor" if device.type == "cuda" else "aot_eager"


def bench_ours(
    cfg: Any,
    ids: torch.Tensor,
    labels: torch.Tensor,
    batch: int,
    warmup: int,
    steps: int,
    device: torch.device,
    compiled: bool = False,
    ddp: bool = False,
) -> dict[str, float]:
    """The trainer's path: bf16 autocast on GPU, TF32 for what stays fp32, fused AdamW, weighted loss, clipping.
    `compiled`: the trainer's compiled step, set up as `fit` sets it up (step.compile_step, filled batches, length
    buckets, the length marked dynamic, a graph step begun before each step)."""
    from transformers import BertModel

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    model = SentimentClassifier(BertModel(cfg, add_pooling_layer=False), cfg.hidden_size, 4, 0.1).to(device).train()
    net: torch.nn.Module = model
    if ddp:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index])
    runner = compile_step(model, device, batch, int(ids.shape[1]), _backend(device)) if compiled else None
    if runner:
        net = runner.net
    optimizer = make_optimizer(model, 2e-5, 0.01, device)
    scheduler = make_scheduler(optimizer, warmup + steps, 0.1)
    class_weights = torch.ones(3, device=device)
    data = Encoded(ids=ids.tolist(), features=torch.zeros(len(ids), 4), labels=labels, weights=torch.ones(len(ids)))
    n_batches = len(ids) // batch

    def run(k: int, start: int) -> None:
        for s in range(start, start + k):
            b = s % n_batches
            rows = to_device(collate(data, list(range(b * batch, (b + 1) * batch)), 0, **(runner.shape if runner else {})), device)
            if runner:
                runner.prepare(rows)
            train_step(net, rows, optimizer, scheduler, class_weights, 1.0, True)

    began = time.perf_counter()
    run(warmup, 0)
    sync(device)
    warm = time.perf_counter() - began
    began = time.perf_counter()
    run(steps, warmup)
    sync(device)
    seconds = time.perf_counter() - began
    result = {"examples_per_s": steps * batch / seconds, "seconds": seconds, "warmup_seconds": warm}
    if device.type == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        torch.cuda.reset_peak_memory_stats()
    return result


def fit_check(size: str, seq: int, batch: int, rows: int, epochs: int, device: torch.device, dropout: float = 0.0, again: bool = True) -> dict[str, Any]:
    """The trainer's `fit`, eager then compiled (training.compileStep "graphs"), on the same reviews of varied lengths
    (16 to `seq` tokens), dropout off by default: per epoch train loss, validation metrics and examples/s of each, and
    the largest differences between them. The first compiled epoch holds the compile and each bucket's graph recording.
    With `dropout` (encoder and head) the two runs draw other masks: their metrics should agree, their losses only
    roughly. `again`: a second compiled fit at twice the batch, as a study's next trial would be."""
    from transformers import BertConfig, BertModel

    from sentiment_trainer.train_loop import FitConfig, fit

    vocab = SIZES[size]["vocab_size"]
    g = torch.Generator().manual_seed(5)
    lengths = torch.randint(16, seq + 1, (rows,), generator=g).tolist()
    ids = [[2, *torch.randint(5, vocab, (n - 2,), generator=g).tolist(), 3] for n in lengths]
    labels = torch.randint(0, 3, (rows,), generator=g)
    # A signal to learn that stops short of perfect: three reviews in four carry their label's token early, the rest
    # a random one, so that the metrics land near 0.8 and can differ between the two runs.
    for i, (row, label) in enumerate(zip(ids, labels.tolist(), strict=True)):
        row[1] = 10 + (label if i % 4 else int(torch.randint(0, 3, (1,), generator=g)))
    cut = rows * 4 // 5
    train = Encoded(ids[:cut], torch.zeros(cut, 4), labels[:cut], torch.ones(cut))
    validation = Encoded(ids[cut:], torch.zeros(rows - cut, 4), labels[cut:], torch.ones(rows - cut))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    out: dict[str, Any] = {"rows": rows, "batch": batch, "epochs": epochs, "dropout": dropout, "lengths": [min(lengths), max(lengths)]}
    for mode in ("off", "graphs"):
        torch.manual_seed(0)
        config = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq), hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
        model = SentimentClassifier(BertModel(config, add_pooling_layer=False), config.hidden_size, 4, dropout)
        cfg = FitConfig(batch, epochs, 5e-5, 0.01, 0.1, 1.0, 0, 7, True, 0, (1.0, 1.0, 1.0), mode, _backend(device))
        began = time.perf_counter()
        result = fit(model, train, validation, cfg, device)
        sync(device)
        out[mode] = {
            "compiled": result.compiled_step,
            "seconds": round(time.perf_counter() - began, 2),
            "epochs": [
                {k: round(float(h[k]), 5) for k in ("trainLoss", "accuracy", "weightedF1", "macroF1", "examplesPerSecond")} for h in result.history
            ],
        }
    # A study fits one model after another in one process: a second compiled fit, at another batch size, must compile
    # again without keeping the first fit's graphs (fit resets the compiler first). Memory reserved after each fit.
    if device.type == "cuda":
        out["graphs"]["reserved_gib"] = round(torch.cuda.memory_reserved() / 2**30, 2)
    if not again:
        return _fit_differences(out)
    torch.manual_seed(1)
    config = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq), hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = SentimentClassifier(BertModel(config, add_pooling_layer=False), config.hidden_size, 4, 0.2)
    began = time.perf_counter()
    second = fit(model, train, validation, FitConfig(batch * 2, 1, 5e-5, 0.01, 0.1, 1.0, 0, 8, True, 0, (1.0, 1.0, 1.0), "graphs", _backend(device)), device)
    sync(device)
    out["graphs_again"] = {"batch": batch * 2, "compiled": second.compiled_step, "seconds": round(time.perf_counter() - began, 2), "weightedF1": round(second.best["weightedF1"], 5)}
    if device.type == "cuda":
        out["graphs_again"]["reserved_gib"] = round(torch.cuda.memory_reserved() / 2**30, 2)
    return _fit_differences(out)


def _fit_differences(out: dict[str, Any]) -> dict[str, Any]:
    pairs = list(zip(out["off"]["epochs"], out["graphs"]["epochs"], strict=True))
    out["max_loss_rel_diff"] = max(abs(a["trainLoss"] - b["trainLoss"]) / max(abs(a["trainLoss"]), 1e-9) for a, b in pairs)
    out["max_weighted_f1_diff"] = max(abs(a["weightedF1"] - b["weightedF1"]) for a, b in pairs)
    last = pairs[-1]
    out["last_epoch_speedup"] = round(last[1]["examplesPerSecond"] / last[0]["examplesPerSecond"], 3)
    return out


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


def _device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(0)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few steps: checks the script runs")
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes, each timed in turn (overrides --batch)")
    parser.add_argument("--steps", type=int, default=60, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="alternate the contenders this many times; medians reported")
    parser.add_argument("--compiled", action="store_true", help="also time the trainer's compiled step (CUDA graphs over length buckets)")
    parser.add_argument("--fit-check", action="store_true", help="instead: the trainer's fit, eager vs compiled, on reviews of varied lengths")
    parser.add_argument("--fit-rows", type=int, default=3000, help="--fit-check: reviews (4/5 train, 1/5 validation)")
    parser.add_argument("--fit-epochs", type=int, default=2)
    parser.add_argument("--fit-dropout", type=float, default=0.0, help="--fit-check: dropout of the encoder and the head")
    parser.add_argument("--fit-once", action="store_true", help="--fit-check: skip the second compiled fit")
    parser.add_argument("--no-ddp", action="store_true", help="skip the 2-GPU DDP scaling run even with several GPUs")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's dense bf16 peak, for MFU (default: from a table)")
    parser.add_argument("--out", default=os.environ.get("TMPDIR", "/tmp") + "/sp-gpu-bench")
    a = parser.parse_args(argv)
    from transformers import BertConfig

    size = "smoke" if a.smoke else "base"
    seq, steps, warmup = (16, 3, 2) if a.smoke else (a.seq, a.steps, a.warmup)
    batches = [4] if a.smoke else [int(b) for b in (a.batches or str(a.batch)).split(",")]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    header = {"device": _device_label(device), "gpus": torch.cuda.device_count() if device.type == "cuda" else 0, "model": size, "seq": seq, "torch": torch.__version__}
    if a.fit_check:
        rows, epochs = (120, 2) if a.smoke else (a.fit_rows, a.fit_epochs)
        checked = {"bench": "trainer-fit-check", **header, **fit_check(size, seq if not a.smoke else 32, batches[0], rows, epochs, device, a.fit_dropout, not a.fit_once)}
        print(json.dumps(checked))
        return checked
    peak = peak_tflops(device, a.peak_tflops)
    flops = flops_per_example(BertConfig(**SIZES[size]), seq)
    contenders = ["ours", *(["ours_compiled"] if a.compiled else [])]
    by_batch: list[dict[str, Any]] = []
    for batch in batches:
        ids, labels = random_data(batch * max(8, min(steps, 64)), seq, SIZES[size]["vocab_size"], seed=1)
        runs: dict[str, list[dict[str, float]]] = {"trainer_fp32": [], **{name: [] for name in contenders}}
        for _ in range(a.repeats):
            cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
            runs["trainer_fp32"].append(bench_trainer(cfg, ids, labels, batch, warmup, steps, device, a.out))
            for name in contenders:
                cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
                runs[name].append(bench_ours(cfg, ids, labels, batch, warmup, steps, device, compiled=name == "ours_compiled"))
            # One line per round on stderr: a run cut short still leaves its figures.
            print(json.dumps({"batch": batch, **{k: round(v[-1]["examples_per_s"], 2) for k, v in runs.items()}}), file=sys.stderr, flush=True)

        def median(name: str, runs: dict[str, list[dict[str, float]]] = runs) -> float:
            xs = sorted(r["examples_per_s"] for r in runs[name])
            return xs[len(xs) // 2]

        base = round(median("trainer_fp32"), 2)
        row: dict[str, Any] = {"batch": batch, "baseline_examples_per_s": base}
        for name in contenders:
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
        **header,
        "steps": steps,
        "repeats": a.repeats,
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
