"""Writes the tiny model folder and test split the evaluation tests run on, with the answers they must give.

    python test/evaluate/py/make_tiny_fixtures.py [--out DIR]  (needs numpy, onnx, tokenizers, scikit-learn)

With --out, the two folders go under DIR instead of test/fixtures (the reproducibility test compares them).

Outputs (all small, committed):
- test/fixtures/tiny-model/: model.onnx, model.int8.onnx, tokenizer.json, labels.json, metadata.json: a model folder
  shaped like the trainer's export (inputs input_ids, attention_mask, features; output logits), and golden.json: ids
  from Python `tokenizers` and logits computed here with numpy, for both models.
- test/fixtures/tiny-split/: test.jsonl (PreparedReview rows of synthetic reviews, no real data), stats.json, and
  expected.json: numpy's prediction for every row and scikit-learn's metrics overall and per slice.

The model is a masked mean of token embeddings, a tanh layer, the side features concatenated, then a linear layer:
its output does not depend on padding, so dynamically padded batches must reproduce the per-row logits here.
Everything is seeded: running it twice writes the same files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "inference" / "py"))
from tokenizer_builders import review_text, wordpiece_from_words  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
MODEL_DIR = ROOT / "test" / "fixtures" / "tiny-model"
SPLIT_DIR = ROOT / "test" / "fixtures" / "tiny-split"
LABELS = ["NEGATIVE", "NEUTRAL", "POSITIVE"]
MAX_LENGTH = 24
DIM = 6
HIDDEN = 4
N_ROWS = 240

POS = "great love excellent perfect happy amazing works recommend sturdy beautiful".split()
NEG = "broke terrible awful waste refund cheap disappointed returned useless flimsy".split()
NEU = "okay fine average decent expected alright".split()
FILLER = (
    "the this product it was i my for and with a is very really item arrived after days quality price size "
    "color kids book phone cable toy gift box fits"
).split()
GOLDEN_TEXTS = [
    ("Love it", "great quality, works perfect and arrived after two days"),
    ("", "terrible cable, broke after a week; waste of money"),
    ("Okay", "it is fine, average, what i expected"),
    ("Long one", " ".join(["really great and sturdy toy for the kids"] * 8)),
    ("Mixed", "beautiful color but flimsy and cheap, returned it"),
    ("Ünïcode ✓", "excellent 👍 book — recommend"),
]
CATEGORIES = ["Books", "Electronics", "Toys", "unknown"]
YEARS = ["2020", "2021", "2022", "2023"]


def sentence(rng: np.random.Generator, rating: int, noise: float) -> str:
    words = list(rng.choice(FILLER, size=int(rng.integers(3, 9))))
    pool = NEG if rating <= 2 else NEU if rating == 3 else POS
    opposite = POS if rating <= 2 else NEG if rating >= 4 else POS + NEG
    for _ in range(int(rng.integers(1, 3))):
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(pool)))
    if rng.random() < noise:
        for _ in range(int(rng.integers(1, 4))):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(opposite)))
    return " ".join(words)


def review(rng: np.random.Generator, rating: int, noise: float) -> tuple[str, str]:
    title = "" if rng.random() < 0.1 else sentence(rng, rating, noise / 2).capitalize()
    text = ". ".join(sentence(rng, rating, noise) for _ in range(int(rng.integers(1, 4)))) + "."
    return title, text


def label_of(rating: int) -> int:
    return 0 if rating <= 2 else 1 if rating == 3 else 2


def build_graph(vocab: int, int8: bool, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    inits = [
        numpy_helper.from_array(weights["w1"], "w1"),
        numpy_helper.from_array(weights["b1"], "b1"),
        numpy_helper.from_array(weights["w2"], "w2"),
        numpy_helper.from_array(weights["b2"], "b2"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
    ]
    nodes = []
    if int8:
        # Like onnxruntime's dynamic quantization of Gather: an int8 table, gathered, then dequantized.
        inits.append(numpy_helper.from_array(weights["emb_q"], "emb_q"))
        inits.append(numpy_helper.from_array(weights["emb_scale"], "emb_scale"))
        nodes.append(helper.make_node("Gather", ["emb_q", "input_ids"], ["emb_int8"]))
        nodes.append(helper.make_node("DequantizeLinear", ["emb_int8", "emb_scale"], ["emb"]))
    else:
        inits.append(numpy_helper.from_array(weights["emb"], "word_embeddings"))
        nodes.append(helper.make_node("Gather", ["word_embeddings", "input_ids"], ["emb"]))
    nodes += [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["emb", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "one"], ["count1"]),
        helper.make_node("Div", ["summed", "count1"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "w1"], ["h_lin"]),
        helper.make_node("Add", ["h_lin", "b1"], ["h_pre"]),
        helper.make_node("Tanh", ["h_pre"], ["h"]),
        helper.make_node("Concat", ["h", "features"], ["z"], axis=1),
        helper.make_node("MatMul", ["z", "w2"], ["z_lin"]),
        helper.make_node("Add", ["z_lin", "b2"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-sentiment" + ("-int8" if int8 else ""),
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_tiny_fixtures")
    model.ir_version = 8
    helper.set_model_props(model, {"vocab_size": str(vocab)})
    onnx.checker.check_model(model)
    return model


def forward(emb: np.ndarray, w: dict[str, np.ndarray], ids: list[int], features: list[float]) -> np.ndarray:
    e = emb[np.array(ids)].astype(np.float64)
    pooled = e.mean(axis=0)
    h = np.tanh(pooled @ w["w1"].astype(np.float64) + w["b1"].astype(np.float64))
    z = np.concatenate([h, np.array(features, dtype=np.float32).astype(np.float64)])
    return z @ w["w2"].astype(np.float64) + w["b2"].astype(np.float64)


def metrics(y_true: list[int], y_pred: list[int]) -> dict:
    """scikit-learn's numbers in the shape of the `Metrics` schema (averages over the labels present, as sklearn)."""
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2], zero_division=0)
    out = {"accuracy": float(accuracy_score(y_true, y_pred))}
    for avg in ("weighted", "macro"):
        ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
        out[f"{avg}Precision"], out[f"{avg}Recall"], out[f"{avg}F1"] = float(ap), float(ar), float(af)
    out["perClass"] = {
        LABELS[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i in range(3)
    }
    out["confusion"] = confusion_matrix(y_true, y_pred, labels=[0, 1, 2]).tolist()
    out["support"] = len(y_true)
    return out


def main() -> None:
    global MODEL_DIR, SPLIT_DIR
    if "--out" in sys.argv:
        out = Path(sys.argv[sys.argv.index("--out") + 1])
        MODEL_DIR, SPLIT_DIR = out / "tiny-model", out / "tiny-split"
    rng = np.random.default_rng(20240514)
    ratings = rng.choice([1, 2, 3, 4, 5], size=N_ROWS, p=[0.12, 0.08, 0.15, 0.2, 0.45])
    cats = rng.choice(CATEGORIES, size=N_ROWS, p=[0.35, 0.3, 0.25, 0.1])
    years = rng.choice(YEARS, size=N_ROWS)
    # Toys reviews are harder (more mixed wording), so the bias rule has something to find.
    reviews = [review(rng, int(rt), 0.55 if c == "Toys" else 0.15) for rt, c in zip(ratings, cats)]
    corpus = [review_text(t, x) for t, x in reviews]
    tok = wordpiece_from_words(corpus, POS + NEG + NEU + FILLER, MAX_LENGTH)
    vocab = tok.get_vocab_size(with_added_tokens=True)

    # Embeddings: column 0 carries a word's sentiment, column 1 neutrality, the rest small noise.
    emb = (rng.normal(0, 0.15, size=(vocab, DIM))).astype(np.float32)
    for word, idx in tok.get_vocab(with_added_tokens=True).items():
        emb[idx, 0] = 1.0 if word in POS else -1.0 if word in NEG else 0.0
        emb[idx, 1] = 1.0 if word in NEU else 0.0
    w = {
        "w1": (np.eye(DIM, HIDDEN) * 5 + rng.normal(0, 0.1, size=(DIM, HIDDEN))).astype(np.float32),
        "b1": rng.normal(0, 0.05, size=HIDDEN).astype(np.float32),
        "w2": np.concatenate(
            [
                np.array([[-4.0, -1.0, 4.0], [-0.5, 5.0, -0.5]], dtype=np.float32),
                rng.normal(0, 0.3, size=(HIDDEN - 2, 3)).astype(np.float32),
                rng.normal(0, 0.2, size=(4, 3)).astype(np.float32),
            ]
        ),
        "b2": np.array([0.0, -0.6, 0.4], dtype=np.float32),
    }
    scale = np.float32(np.abs(emb).max() / 127.0)
    emb_q = np.clip(np.round(emb / scale), -127, 127).astype(np.int8)
    emb_deq = emb_q.astype(np.float32) * scale

    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    SPLIT_DIR.mkdir(parents=True, exist_ok=True)
    onnx.save(build_graph(vocab, False, {**w, "emb": emb}), MODEL_DIR / "model.onnx")
    onnx.save(build_graph(vocab, True, {**w, "emb_q": emb_q, "emb_scale": scale}), MODEL_DIR / "model.int8.onnx")
    tok.save(str(MODEL_DIR / "tokenizer.json"))
    write_json(MODEL_DIR / "labels.json", LABELS)
    feature_stats = {
        "names": ["price", "price_missing", "helpful_vote", "verified_purchase"],
        "priceFill": 19.99,
        "priceMean": 27.5,
        "priceStd": 14.0,
        "helpfulMean": 0.4,
        "helpfulStd": 0.8,
    }

    rows, y_true, y_pred, preds = [], [], [], []
    for i, ((title, text), rating, cat, year) in enumerate(zip(reviews, ratings, cats, years)):
        price_missing = float(rng.random() < 0.2)
        price = feature_stats["priceFill"] if price_missing else float(rng.uniform(3, 80))
        helpful = int(rng.poisson(0.6))
        feats = [
            round((price - feature_stats["priceMean"]) / feature_stats["priceStd"], 6),
            price_missing,
            round((np.log1p(helpful) - feature_stats["helpfulMean"]) / feature_stats["helpfulStd"], 6),
            float(rng.random() < 0.8),
        ]
        ids = tok.encode(review_text(title, text)).ids
        logits = forward(emb, w, ids, feats)
        top2 = np.sort(logits)[-2:]
        if top2[1] - top2[0] < 1e-3:
            raise SystemExit(f"row {i}: logits too close to call ({logits}); change the seed")
        label = label_of(int(rating))
        ts = int(np.datetime64(f"{year}-06-15T12:00:00", "ms").astype(np.int64)) + int(rng.integers(0, 10**9))
        rows.append(
            {
                "id": f"synthetic-{i:04d}",
                "line": i + 1,
                "title": title,
                "text": text,
                "rating": float(rating),
                "label": LABELS[label],
                "labelId": label,
                "timestamp": ts,
                "slices": {"year": str(year), "main_category": str(cat)},
                "features": feats,
            }
        )
        pred = int(np.argmax(logits))
        y_true.append(label)
        y_pred.append(pred)
        preds.append({"id": rows[-1]["id"], "pred": pred, "logits": [float(v) for v in logits]})

    with open(SPLIT_DIR / "test.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    by_label = {lab: sum(1 for r in rows if r["label"] == lab) for lab in LABELS}
    by_slice = {
        col: {v: sum(1 for r in rows if r["slices"][col] == v) for v in sorted({r["slices"][col] for r in rows})}
        for col in ("year", "main_category")
    }
    split = {"rows": len(rows), "byLabel": by_label, "bySlice": by_slice}
    empty = {"rows": 0, "byLabel": {}, "bySlice": {}}
    fingerprint = "synthetic-tiny-split-v1"
    write_json(
        SPLIT_DIR / "stats.json",
        {
            "input": "gs://local-bucket/uploads/synthetic.jsonl",
            "format": "jsonl",
            "schema": "amazon-2023",
            "rowsRead": len(rows),
            "rowsKept": len(rows),
            "rowsRejected": 0,
            "rejectedByReason": {},
            "labelSource": {"column": 0, "rating": len(rows)},
            "splitMode": "stratified",
            "seed": 42,
            "splits": {"train": empty, "validation": empty, "test": split},
            "classWeights": [1.0, 1.0, 1.0],
            "featureStats": feature_stats,
            "fingerprint": fingerprint,
        },
    )
    write_json(
        MODEL_DIR / "metadata.json",
        {
            "formatVersion": 1,
            "runId": "tiny-fixture",
            "trainAttempt": 1,
            "family": "bert",
            "baseModel": "tiny",
            "maxLength": MAX_LENGTH,
            "textTemplate": "title + ' ' + text",
            "labels": LABELS,
            "inputs": ["input_ids", "attention_mask", "features"],
            "outputs": ["logits"],
            "features": feature_stats,
            "params": {
                "modelFamily": "bert",
                "learningRate": 0.00005,
                "batchSize": 16,
                "epochs": 1,
                "weightDecay": 0.01,
                "dropout": 0.1,
            },
            "mitigation": None,
            "dataFingerprint": fingerprint,
            "validation": {"accuracy": 0.8, "weightedF1": 0.8, "macroF1": 0.7},
            "parity": {"maxAbsLogitDiff": 0.0, "int8Agreement": 1.0, "examples": 8},
            "createdAt": "2024-05-14T00:00:00.000Z",
        },
    )

    # Golden examples: fixed texts (a long one is truncated, one has an empty title, one unknown characters), ids
    # and logits of both models.
    golden = []
    for k, (title, text) in enumerate(GOLDEN_TEXTS):
        ids = tok.encode(review_text(title, text)).ids
        feats = [round(0.25 * k - 0.5, 3), float(k % 2), round(0.1 * k, 3), 1.0]
        golden.append(
            {
                "title": title,
                "text": text,
                "features": feats,
                "ids": ids,
                "logits": [float(v) for v in forward(emb, w, ids, feats)],
                "logitsInt8": [float(v) for v in forward(emb_deq, w, ids, feats)],
            }
        )
    write_json(MODEL_DIR / "golden.json", {"vocabSize": vocab, "maxLength": MAX_LENGTH, "examples": golden})

    slices = []
    for col in ("year", "main_category"):
        for value in sorted({r["slices"][col] for r in rows}):
            idx = [i for i, r in enumerate(rows) if r["slices"][col] == value]
            slices.append(
                {
                    "column": col,
                    "value": value,
                    "support": len(idx),
                    "metrics": metrics([y_true[i] for i in idx], [y_pred[i] for i in idx]),
                }
            )
    write_json(
        SPLIT_DIR / "expected.json",
        {"predictions": preds, "overall": metrics(y_true, y_pred), "slices": slices},
    )
    print(f"vocab {vocab}, rows {len(rows)}, accuracy {accuracy_score(y_true, y_pred):.3f}")


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
