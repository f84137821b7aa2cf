"""The compiled training step: fixed batch shapes (filled rows, length buckets), the same arithmetic as the eager step,
one compile for every bucket, and when it is used.

On a CPU the step compiles with torch.compile's "aot_eager" backend: Dynamo and AOTAutograd trace the forward and the
backward as they do for Inductor on a GPU, without generating code. The GPU figures (CUDA graphs, Inductor) come from
bench/trainer/gpu_bench.py on a lent device (docs/benchmarks.md)."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from sentiment_trainer.batching import Encoded, bucket_width, collate
from sentiment_trainer.step import AUTO_MIN_STEPS, use_compiled_step
from sentiment_trainer.train_loop import FitConfig, fit

CPU, GPU = torch.device("cpu"), torch.device("cuda", 0)


def _encoded(rows: int, low: int, high: int, seed: int) -> Encoded:
    rng = random.Random(seed)
    ids = [[2, *(rng.randrange(5, 200) for _ in range(rng.randint(low, high) - 2)), 3] for _ in range(rows)]
    labels = torch.tensor([rng.choice([0, 0, 1, 2, 2]) for _ in range(rows)])
    return Encoded(ids=ids, features=torch.rand(rows, 4), labels=labels, weights=torch.tensor([1.0 + i % 3 for i in range(rows)]))


def test_a_bucket_rounds_the_width_up_to_its_multiple_but_never_past_the_longest_row() -> None:
    assert [bucket_width(w, 32, 128) for w in (1, 31, 32, 33, 100, 128)] == [32, 32, 32, 64, 128, 128]
    assert bucket_width(70, 32, 80) == 80  # 96 would pass the data's longest row
    assert bucket_width(70, 0, 80) == 70  # no buckets: the batch's own width


def test_a_short_batch_is_filled_with_weightless_copies_and_padded_to_its_bucket() -> None:
    data = _encoded(10, 5, 40, seed=1)
    index = [3, 7, 1]
    batch = collate(data, index, pad_id=0, rows=8, width_multiple=32, longest=max(data.lengths))
    width = bucket_width(max(data.lengths[i] for i in index), 32, max(data.lengths))
    assert batch["input_ids"].shape == (8, width) and batch["attention_mask"].shape == (8, width)
    assert batch["weights"][:3].tolist() == data.weights[index].tolist()
    assert batch["weights"][3:].tolist() == [0.0] * 5
    # The real rows are unchanged: their tokens, then padding the mask hides.
    for row, i in enumerate(index):
        n = data.lengths[i]
        assert batch["input_ids"][row, :n].tolist() == data.ids[i]
        assert batch["attention_mask"][row].sum().item() == n
    plain = collate(data, index, pad_id=0)
    assert plain["input_ids"].shape == (3, max(data.lengths[i] for i in index))


def _fit(mode: str, train: Encoded, validation: Encoded, backend: str = "aot_eager") -> tuple[list[dict[str, float]], bool]:
    from transformers import BertConfig, BertModel

    from sentiment_trainer.classifier import SentimentClassifier
    from sentiment_trainer.models import TINY_SHAPE

    torch.manual_seed(0)
    config = BertConfig(vocab_size=200, max_position_embeddings=128, type_vocab_size=1, pad_token_id=0, **TINY_SHAPE)
    model = SentimentClassifier(BertModel(config, add_pooling_layer=False), config.hidden_size, 4, 0.0)
    for m in model.modules():  # the eager and compiled runs draw dropout masks from other random streams
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    cfg = FitConfig(16, 2, 1e-3, 0.01, 0.1, 1.0, 0, 7, True, 0, (1.0, 2.0, 0.8), mode, backend)
    result = fit(model, train, validation, cfg, CPU)
    return result.history, result.compiled_step


def test_the_compiled_step_trains_to_the_same_losses_and_metrics_as_the_eager_step() -> None:
    # Lengths 6..100 cross four buckets, and 90 rows at batch 16 leave a last batch of 10 to fill.
    train, validation = _encoded(90, 6, 100, seed=2), _encoded(40, 6, 100, seed=3)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    eager, eager_compiled = _fit("off", train, validation)
    compiled, was_compiled = _fit("graphs", train, validation)
    assert (eager_compiled, was_compiled) == (False, True)
    for a, b in zip(eager, compiled, strict=True):
        assert b["trainLoss"] == pytest.approx(a["trainLoss"], rel=1e-4)
        assert (b["accuracy"], b["weightedF1"], b["macroF1"]) == pytest.approx((a["accuracy"], a["weightedF1"], a["macroF1"]), abs=1e-6)
    # One compile of the forward and backward serves every bucket: the sequence length is marked dynamic up front
    # (without the mark, the second length compiles the step again).
    counters = torch._dynamo.utils.counters
    assert (counters["stats"]["unique_graphs"], counters["aot_autograd"]["total"]) == (1, 1)


def test_auto_compiles_only_long_fits_on_a_gpu_and_never_under_data_parallelism() -> None:
    assert use_compiled_step("auto", GPU, False, AUTO_MIN_STEPS)
    assert not use_compiled_step("auto", GPU, False, AUTO_MIN_STEPS - 1)
    assert not use_compiled_step("auto", CPU, False, 10 * AUTO_MIN_STEPS)
    assert not use_compiled_step("auto", GPU, True, 10 * AUTO_MIN_STEPS)
    assert not use_compiled_step("graphs", GPU, True, 10)
    assert use_compiled_step("graphs", CPU, False, 1)
    assert not use_compiled_step("off", GPU, False, 10 * AUTO_MIN_STEPS)
    with pytest.raises(ValueError, match="'fast' is not one of auto, graphs, off"):
        use_compiled_step("fast", GPU, False, 1)
