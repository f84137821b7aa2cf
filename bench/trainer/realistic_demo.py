"""The realistic local run, timed: `npm run demo -- --input <review sample> --model minilm` with no other flags, then the
TF-IDF + logistic regression baselines of `minilm_cpu.py` fit on the same prepared split the run used, in the same
invocation.

Prints one JSON line (wall time, outcome, the served export, test weighted / macro / NEUTRAL F1 of the run's model and
of both baselines, load average before and after); writes it to .local/bench/trainer/realistic-demo.json.

    python bench/trainer/realistic_demo.py            # REVIEWS_SAMPLE=... to use another file
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from minilm_cpu import OUT, REPO, baselines, rows, sample_path  # noqa: E402

LABEL_IDS = [0, 1, 2]


def neutral_f1(y_true: list[int], y_pred: list[int]) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(y_true, y_pred, labels=[1], average="macro", zero_division=0)), 4)


def baselines_with_neutral(train: list[dict[str, Any]], test: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """minilm_cpu's baselines, plus NEUTRAL F1 (refit: the pipelines are deterministic)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    out = baselines(train, test)
    for name, weight in (("tfidf_logreg", None), ("tfidf_logreg_balanced", "balanced")):
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), LogisticRegression(max_iter=2000, class_weight=weight))
        model.fit([f"{r['title']} {r['text']}" for r in train], [r["labelId"] for r in train])
        out[name]["neutralF1"] = neutral_f1([r["labelId"] for r in test], model.predict([f"{r['title']} {r['text']}" for r in test]).tolist())
    return out


def main() -> None:
    sample = sample_path()
    load_before = os.getloadavg()
    began = time.perf_counter()
    done = subprocess.run(
        ["npm", "run", "--silent", "demo", "--", "--input", str(sample), "--model", "minilm", "--json"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - began
    load_after = os.getloadavg()
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if not lines:
        sys.exit(f"the demo printed no final state (exit {done.returncode})")
    state = json.loads(lines[-1])
    run_dir = REPO / ".local" / "bucket" / "runs" / state["runId"]
    data_dir = run_dir / "prepare" / f"a{state['steps']['prepare']['attempt']}"
    evaluation = run_dir / "evaluate" / f"a{state['steps']['evaluate']['attempt']}"
    metrics = json.loads((evaluation / "metrics.json").read_text())
    m = metrics["metrics"]
    result = {
        "command": f"npm run demo -- --input {sample} --model minilm",
        "seconds": round(seconds, 1),
        "outcome": state["outcome"],
        "trail": [t["decision"] for t in state["trail"]],
        "modelFile": metrics.get("modelFile"),
        "testRows": m["support"],
        "model": {"weightedF1": round(m["weightedF1"], 4), "macroF1": round(m["macroF1"], 4), "neutralF1": round(m["perClass"]["NEUTRAL"]["f1"], 4)},
        "baselines": baselines_with_neutral(rows(data_dir, "train"), rows(data_dir, "test")),
        "loadAverage": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "realistic-demo.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
