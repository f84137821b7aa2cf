"""Training throughput of the trainer's step against Hugging Face `Trainer` with default fp32 settings, same run.

Standalone: needs only torch and transformers (plus accelerate, which `Trainer` itself needs); it imports the
trainer's own torch-only modules (classifier, step, batching) from gpu-jobs/trainer, so it measures the real code.
A bert-base-sized encoder with random weights (speed does not depend on them), sequences of `--seq` tokens, the same
batch size for both. Prints one JSON line. `--smoke` runs tiny sizes on CPU in seconds (used by the tests).

    python bench/trainer/gpu_bench.py                 # bert-base, length 128, batch 32, on the GPU
    python bench/trainer/gpu_bench.py --smoke         # tiny, on whatever device there is
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


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def random_data(n: int, seq: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (n, seq), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3
    return ids, torch.randint(0, 3, (n,), generator=g)


def bench_ours(cfg: Any, ids: torch.Tensor, labels: torch.Tensor, batch: int, warmup: int, steps: int, device: torch.device, compile_encoder: bool = False) -> dict[str, float]:
    """The trainer's path: bf16 autocast on GPU, TF32 for what stays fp32, fused AdamW, weighted loss, clipping."""
    from transformers import BertModel

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    model = SentimentClassifier(BertModel(cfg, add_pooling_layer=False), cfg.hidden_size, 4, 0.1).to(device).train()
    if compile_encoder:
        model.encoder = torch.compile(model.encoder)
    optimizer = make_optimizer(model, 2e-5, 0.01, device)
    scheduler = make_scheduler(optimizer, warmup + steps, 0.1)
    class_weights = torch.ones(3, device=device)
    data = Encoded(ids=ids.tolist(), features=torch.zeros(len(ids), 4), labels=labels, weights=torch.ones(len(ids)))
    n_batches = len(ids) // batch

    def run(k: int, start: int) -> None:
        for s in range(start, start + k):
            b = s % n_batches
            index = list(range(b * batch, (b + 1) * batch))
            train_step(model, to_device(collate(data, index, 0), device), optimizer, scheduler, class_weights, 1.0, True)

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
    parser.add_argument("--steps", type=int, default=60, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="alternate the contenders this many times; medians reported")
    parser.add_argument("--compile", action="store_true", help="also time the trainer's step with a torch.compile'd encoder")
    parser.add_argument("--out", default=os.environ.get("TMPDIR", "/tmp") + "/sp-gpu-bench")
    a = parser.parse_args(argv)
    from transformers import BertConfig

    size = "smoke" if a.smoke else "base"
    seq, batch, steps, warmup = (16, 4, 3, 1) if a.smoke else (a.seq, a.batch, a.steps, a.warmup)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ids, labels = random_data(batch * max(8, min(steps, 64)), seq, SIZES[size]["vocab_size"], seed=1)
    runs: dict[str, list[dict[str, float]]] = {"trainer_fp32": [], "ours": [], **({"ours_compiled": []} if a.compile else {})}
    for _ in range(a.repeats):
        cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
        runs["trainer_fp32"].append(bench_trainer(cfg, ids, labels, batch, warmup, steps, device, a.out))
        cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
        runs["ours"].append(bench_ours(cfg, ids, labels, batch, warmup, steps, device))
        if a.compile:
            cfg = BertConfig(**SIZES[size], max_position_embeddings=max(512, seq))
            runs["ours_compiled"].append(bench_ours(cfg, ids, labels, batch, warmup, steps, device, compile_encoder=True))

    def median(name: str) -> float:
        xs = sorted(r["examples_per_s"] for r in runs[name])
        return xs[len(xs) // 2]

    result: dict[str, Any] = {
        "bench": "trainer-gpu",
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "model": size,
        "seq": seq,
        "batch": batch,
        "steps": steps,
        "repeats": a.repeats,
        "torch": torch.__version__,
        "baseline_examples_per_s": round(median("trainer_fp32"), 2),
        "ours_examples_per_s": round(median("ours"), 2),
        "speedup": round(median("ours") / median("trainer_fp32"), 3),
        **({"ours_compiled_examples_per_s": round(median("ours_compiled"), 2), "compiled_speedup": round(median("ours_compiled") / median("trainer_fp32"), 3)} if a.compile else {}),
        "runs": runs,
    }
    assert all(math.isfinite(v) for v in (result["baseline_examples_per_s"], result["ours_examples_per_s"]))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
