"""How fast onnxruntime itself runs the exported model on this CPU, outside Node: the ceiling for the evaluate job.

    "$(bash gpu-jobs/trainer/scripts/ensure-venv.sh)" bench/evaluate/onnx_variants.py [MODEL_DIR TEST_JSONL]

Defaults: the benchmarks' sample model and its test split (bench/support/sample-model.ts; run
`npm run bench -- evaluate` once first). Ids are tokenized up front with the exported tokenizer.json, so the timing is
the engine's alone; batches of 64, length-sorted over the whole split, as the job runs them; best of 3 passes.

Variants: the exported model.onnx and model.int8.onnx; the same after onnxruntime's transformer optimizer (fusions for
BERT-style graphs), quantized by the trainer's own quantize_int8; and each export run as two single-threaded sessions in
parallel (every other batch each) instead of one session with two threads.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.transformers.optimizer import optimize_model
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "gpu-jobs" / "trainer"))
from sentiment_trainer.export import quantize_int8  # noqa: E402

RUN = ROOT / ".local/bench/sample-model/minilm/bucket/runs/bench-sample"
BATCH = 64
PASSES = 3


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else RUN / "train/a1/model"
    test = Path(sys.argv[2]) if len(sys.argv) > 2 else RUN / "prepare/a1/test.jsonl"
    metadata = json.loads((model_dir / "metadata.json").read_text())
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(metadata["maxLength"])
    rows = [json.loads(line) for line in test.read_text().splitlines() if line.strip()]
    ids = [e.ids for e in tokenizer.encode_batch([f"{r.get('title') or ''} {r['text']}" for r in rows])]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    batches = [order[b : b + BATCH] for b in range(0, len(order), BATCH)]
    uses_features = "features" in metadata["inputs"]

    def feeds(index: list[int]) -> dict[str, np.ndarray]:
        width = max(len(ids[i]) for i in index)
        input_ids = np.zeros((len(index), width), np.int64)
        mask = np.zeros((len(index), width), np.int64)
        for k, i in enumerate(index):
            input_ids[k, : len(ids[i])] = ids[i]
            mask[k, : len(ids[i])] = 1
        out = {"input_ids": input_ids, "attention_mask": mask}
        if uses_features:
            out["features"] = np.zeros((len(index), len(metadata["features"]["names"])), np.float32)
        return out

    prepared = [feeds(b) for b in batches]

    def logits(s: ort.InferenceSession) -> tuple[float, np.ndarray]:
        best, out = float("inf"), np.empty((len(ids), 3), np.float32)
        for _ in range(PASSES):
            began = time.perf_counter()
            for index, f in zip(batches, prepared, strict=True):
                out[index] = s.run(["logits"], f)[0]
            best = min(best, time.perf_counter() - began)
        return best, out

    def two_sessions(path: Path) -> float:
        pair = [session(path, 1), session(path, 1)]

        def work(k: int) -> None:
            for f in prepared[k::2]:
                pair[k].run(["logits"], f)

        best = float("inf")
        for _ in range(PASSES):
            began = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(work, [0, 1]))
            best = min(best, time.perf_counter() - began)
        return best

    with tempfile.TemporaryDirectory() as tmp:
        fused = Path(tmp) / "model.fused.onnx"
        fused_int8 = Path(tmp) / "model.fused.int8.onnx"
        # num_heads and hidden_size 0: the optimizer reads them from the graph.
        optimized = optimize_model(str(model_dir / "model.onnx"), model_type="bert", num_heads=0, hidden_size=0)
        fusions = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
        optimized.save_model_to_file(str(fused))
        quantize_int8(fused, fused_int8)
        variants = {
            "model.onnx (fp32)": model_dir / "model.onnx",
            "model.int8.onnx": model_dir / "model.int8.onnx",
            "optimizer-fused fp32": fused,
            "optimizer-fused, then int8": fused_int8,
        }
        seconds, outputs = {}, {}
        for name, path in variants.items():
            seconds[name], outputs[name] = logits(session(path, 2))
        reference = outputs["model.onnx (fp32)"].argmax(-1)
        n = len(ids)
        print(f"onnxruntime {ort.__version__}, {n} reviews, batches of {BATCH}, best of {PASSES} passes; fusions: {fusions}")
        print("| variant | reviews/s | agrees with model.onnx |")
        print("|---|---:|---:|")
        for name in variants:
            agree = float((outputs[name].argmax(-1) == reference).mean())
            print(f"| {name}, one session x 2 threads | {n / seconds[name]:.1f} | {agree:.2%} |")
        for name in ("model.onnx (fp32)", "model.int8.onnx"):
            print(f"| {name}, two sessions x 1 thread | {n / two_sessions(variants[name]):.1f} | |")


if __name__ == "__main__":
    main()
