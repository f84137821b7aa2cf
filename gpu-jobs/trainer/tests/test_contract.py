"""Across languages: the TypeScript job spec's arguments parse here, and Node's tokenizers give the ids trained with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, SEARCH, train_input, tune_input

from sentiment_trainer.args import parse_args, to_camel
from sentiment_trainer.models import pretrained_source, tiny_source

NODE = Path(__file__).parent / "node"
TEXTS = [
    "Great product Works exactly as described.",
    "Terrible!!! Broke after 2 days... never again 😡",
    "Crème brûlée set — naïve design, but ÜBER sturdy. 5/5",
    "okay " * 300,
    "Mixed feelings: the <br /> battery is fine; the case, not so much.",
    "  leading and trailing spaces  ",
]


def _tsx(*args: str, stdin: str | None = None) -> str:
    tsx = REPO / "node_modules" / ".bin" / "tsx"
    if shutil.which("node") is None or not tsx.exists() or not (REPO / "node_modules" / "tokenizers").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("node and the project's node_modules are required under CI")
        pytest.skip("node or node_modules missing: run npm ci at the repo root")
    env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"}
    done = subprocess.run([str(tsx), *args], cwd=REPO, input=stdin, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_parses_the_arguments_the_typescript_side_renders() -> None:
    plan = {"method": "reweight", "slices": [{"column": "year", "value": "2021", "weight": 2.5, "f1": 0.4, "ratio": 0.7}], "fromEvaluationAttempt": 1}
    inputs = [train_input(mitigation=plan), train_input(), tune_input(search={**SEARCH, "trials": 5})]
    rendered = json.loads(_tsx(str(NODE / "job-args.ts"), stdin=json.dumps(inputs)))
    for item in rendered:
        assert to_camel(parse_args(item["args"])) == item["input"]


def _node_ids(tokenizer_json: Path, tmp_path: Path) -> list[list[int]]:
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps(TEXTS, ensure_ascii=False), encoding="utf-8")
    return list(json.loads(_tsx(str(NODE / "encode.ts"), str(tokenizer_json), str(texts))))


def test_node_tokenizers_encode_the_tiny_tokenizer_exactly_as_training_did(tmp_path: Path) -> None:
    source = tiny_source([*TEXTS, "great product works fine battery case"] * 3, max_length=64)
    path = tmp_path / "tokenizer.json"
    source.tokenizer.save(str(path))
    python_ids = [e.ids for e in source.tokenizer.encode_batch(TEXTS)]
    assert max(len(x) for x in python_ids) == 64
    assert _node_ids(path, tmp_path) == python_ids


def test_node_tokenizers_encode_the_minilm_tokenizer_exactly_as_training_did(tmp_path: Path) -> None:
    source = pretrained_source("minilm", max_length=128)
    path = tmp_path / "tokenizer.json"
    source.tokenizer.save(str(path))
    python_ids = [e.ids for e in source.tokenizer.encode_batch(TEXTS)]
    assert len(python_ids[3]) == 128 and python_ids[0][0] == 101 and python_ids[0][-1] == 102
    assert _node_ids(path, tmp_path) == python_ids
