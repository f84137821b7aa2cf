"""Reading the splits, example weights and batching: unusable input is named by file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RUN_DIR, Env, input_to_args, synthetic_data, train_input

from sentiment_trainer import data, storage
from sentiment_trainer.args import MitigationPlan, SliceCondition, SliceWeight, mitigation_plan
from sentiment_trainer.batching import Encoded, collate, length_grouped_batches
from sentiment_trainer.cli import main


def test_reads_a_split_from_the_embedded_bucket(env: Env) -> None:
    uri = synthetic_data(env, rows=100)
    reviews = data.read_split(uri, "train")
    assert len(reviews) == 80
    first = json.loads(env.bucket_path(f"{uri}/train.jsonl").read_text().splitlines()[0])
    assert reviews[0].text == f"{first['title']} {first['text']}"
    assert reviews[0].label_id == first["labelId"] and len(reviews[0].features) == 4


def test_a_missing_split_names_the_file(env: Env) -> None:
    uri = synthetic_data(env, rows=100)
    env.bucket_path(f"{uri}/validation.jsonl").unlink()
    with pytest.raises(data.DataError, match=r"validation split: no such object: gs://test-bucket/.*/validation.jsonl"):
        data.read_split(uri, "validation")


def test_a_broken_line_names_file_line_and_field(env: Env) -> None:
    uri = synthetic_data(env, rows=100)
    path = env.bucket_path(f"{uri}/train.jsonl")
    lines = path.read_text().splitlines()
    row = json.loads(lines[2])
    row["features"] = [1, 2]
    lines[2] = json.dumps(row)
    lines[5] = "{oops"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataError, match=r"train.jsonl line 3: not a PreparedReview: features"):
        data.read_split(uri, "train")
    del lines[2]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataError, match=r"train.jsonl line 5: not JSON"):
        data.read_split(uri, "train")


def test_a_label_that_contradicts_its_id_is_refused(env: Env) -> None:
    uri = synthetic_data(env, rows=100)
    path = env.bucket_path(f"{uri}/train.jsonl")
    lines = path.read_text().splitlines()
    row = json.loads(lines[0])
    row["labelId"] = (row["labelId"] + 1) % 3
    path.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    with pytest.raises(data.DataError, match=r"line 1: labelId .* does not match label"):
        data.read_split(uri, "train")


def test_an_unreadable_split_fails_the_job_with_exit_2_and_job_failed(env: Env) -> None:
    uri = synthetic_data(env, rows=100)
    env.bucket_path(f"{uri}/train.jsonl").write_bytes(b"\xff\xfe not utf-8")
    code = main(input_to_args(train_input(dataDir=uri)))
    assert code == 2
    [failed] = env.events("job.failed")
    assert failed["data"]["retryable"] is False and failed["data"]["step"] == "train"
    assert "train.jsonl is not UTF-8" in failed["data"]["error"]
    assert env.events("training.completed") == []


def test_invalid_stats_name_the_field(env: Env) -> None:
    uri = synthetic_data(env, rows=100)
    path = env.bucket_path(f"{uri}/stats.json")
    stats = json.loads(path.read_text())
    stats["classWeights"] = [1, 2]
    path.write_text(json.dumps(stats))
    with pytest.raises(data.DataError, match=r"stats.json does not match prepared-stats: classWeights"):
        data.read_stats(uri)


def test_example_weight_is_the_largest_matching_slice_weight() -> None:
    plan = MitigationPlan(
        "reweight",
        (SliceWeight("year", "2021", 2.0, 0.5, 0.6), SliceWeight("main_category", "Books", 4.0, 0.4, 0.5)),
        1,
    )
    rows = [
        data.Review("a", 0, (0, 0, 0, 0), {"year": "2021", "main_category": "Books"}),
        data.Review("b", 0, (0, 0, 0, 0), {"year": "2021", "main_category": "Toys"}),
        data.Review("c", 0, (0, 0, 0, 0), {"year": "2020", "main_category": "Toys"}),
    ]
    assert data.example_weights(rows, plan) == [4.0, 2.0, 1.0]
    assert data.example_weights(rows, None) == [1.0, 1.0, 1.0]


def test_pooled_and_crossed_slices_weight_exactly_the_rows_they_name() -> None:
    # The evaluate job's "other" pools rare years; a crossed cell needs both values. Neither value is a real one.
    raw = {
        "method": "reweight",
        "slices": [
            {
                "column": "year",
                "value": "other",
                "where": [{"column": "year", "values": ["2016", "2017"]}],
                "weight": 3.0,
                "f1": 0.4,
                "ratio": 0.5,
            },
            {
                "column": "year × main_category",
                "value": "2021 × Books",
                "where": [{"column": "year", "values": ["2021"]}, {"column": "main_category", "values": ["Books"]}],
                "weight": 2.0,
                "f1": 0.5,
                "ratio": 0.6,
            },
            {"column": "main_category", "value": "Toys", "weight": 5.0, "f1": 0.3, "ratio": 0.4},
        ],
        "fromEvaluationAttempt": 1,
    }
    plan = mitigation_plan(raw)
    assert plan is not None and plan.slices[0].where == (SliceCondition("year", ("2016", "2017")),)
    rows = [
        data.Review("a", 0, (0, 0, 0, 0), {"year": "2017", "main_category": "Books"}),
        data.Review("b", 0, (0, 0, 0, 0), {"year": "2021", "main_category": "Books"}),
        data.Review("c", 0, (0, 0, 0, 0), {"year": "2021", "main_category": "Pets"}),
        data.Review("d", 0, (0, 0, 0, 0), {"year": "2022", "main_category": "Toys"}),
        data.Review("e", 0, (0, 0, 0, 0), {"year": "other", "main_category": "Books"}),
    ]
    assert data.example_weights(rows, plan) == [3.0, 2.0, 1.0, 5.0, 1.0]
    # Written back (training.completed, metadata.json) as it came: `where` only where the plan had it.
    assert plan.to_json() == raw


def test_length_grouped_batches_cover_every_row_once_and_group_lengths() -> None:
    lengths = [(i * 37) % 120 + 3 for i in range(1000)]
    batches = length_grouped_batches(lengths, 16, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert batches != length_grouped_batches(lengths, 16, seed=4)
    assert batches == length_grouped_batches(lengths, 16, seed=3)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 10  # random batches would spread ~100 tokens


def test_collate_pads_each_batch_to_its_longest_row() -> None:
    import torch

    enc = Encoded(ids=[[2, 5, 3], [2, 3], [2, 9, 9, 9, 3]], features=torch.zeros(3, 4), labels=torch.tensor([0, 1, 2]), weights=torch.ones(3))
    batch = collate(enc, [0, 1], pad_id=0)
    assert batch["input_ids"].tolist() == [[2, 5, 3], [2, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [0, 1]


def test_embedded_uris_map_into_the_local_bucket_and_refuse_escapes(tmp_path: Path) -> None:
    env = {"PIPELINE_MODE": "embedded", "LOCAL_ROOT": str(tmp_path), "BUCKET": "b1"}
    assert storage.local_path("gs://b1/runs/x/a.json", env) == (tmp_path / "bucket" / "runs/x/a.json").resolve()
    with pytest.raises(storage.StorageError, match="holds bucket b1, not b2"):
        storage.local_path("gs://b2/x", env)
    with pytest.raises(storage.StorageError, match="escapes the bucket"):
        storage.local_path("gs://b1/../../etc/passwd", env)
    assert storage.local_path("gs://b1/x", {}) is None
    assert storage.local_path("/plain/path", {}) == Path("/plain/path")


def test_local_writes_are_atomic_and_readable_by_others(env: Env) -> None:
    uri = f"{RUN_DIR}/x/y.json"
    storage.write_text(uri, "{}")
    path = env.bucket_path(uri)
    assert path.read_text() == "{}" and (path.stat().st_mode & 0o044) == 0o044
    assert [p.name for p in path.parent.iterdir()] == ["y.json"]


def test_the_emulator_endpoint_gets_anonymous_credentials() -> None:
    storage._client.cache_clear()
    client = storage._client("http://127.0.0.1:9023")
    assert client._connection.API_BASE_URL == "http://127.0.0.1:9023"
    assert type(client._credentials).__name__ == "AnonymousCredentials"
    storage._client.cache_clear()
