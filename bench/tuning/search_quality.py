"""Search quality: Vizier (OSS, Vertex's default algorithm) vs Optuna-TPE vs the Vertex stand-in's random search.

Each algorithm gets the same budget of trials per study, on each generated scenario, for several seeds, all in one
invocation; a trial trains the model through `sentiment_trainer trial` (objective.py) and returns its best validation
weighted F1. Prints the markdown table docs/benchmarks.md records, then one JSON line with every trial.
Run it in the trainer's Python (`npm run bench -- tuning` does):

    nice -n 10 $(bash gpu-jobs/trainer/scripts/ensure-venv.sh) bench/tuning/search_quality.py \
        --scenarios clean,lowf1,biased --seeds 1,2,3 --trials 8 --rows 600
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from harness import CachedObjective, StudyRecord, run_study, summarise, table  # noqa: E402
from objective import TrialObjective  # noqa: E402

ALGORITHMS = ("optuna-tpe", "vizier", "standin-random", "optuna-gp")
BASELINE = "optuna-tpe"


def _run(cmd: list[str], what: str) -> str:
    env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"}
    for k in ("PIPELINE_MODE", "LOCAL_ROOT", "SP_OUTBOX", "BUCKET"):
        env.pop(k, None)
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def prepared(work: Path, scenario: str, rows: int, data_seed: int) -> Path:
    """`npm run gen-reviews` then `npm run prepare`: the scenario's splits exactly as the pipeline makes them (cached)."""
    folder = work / "data" / f"{scenario}-{rows}-{data_seed}"
    out = folder / "prepared"
    if (out / "stats.json").is_file():
        return out
    folder.mkdir(parents=True, exist_ok=True)
    upload = folder / f"{scenario}.jsonl"
    _run(["npm", "run", "--silent", "gen-reviews", "--", "--rows", str(rows), "--seed", str(data_seed), "--scenario", scenario, "--out", str(upload)], f"generating {scenario}")
    _run(["npm", "run", "--silent", "prepare", "--", "--input", str(upload), "--out", str(out)], f"preparing {scenario}")
    return out


def vizier_python(given: str | None) -> str:
    if given:
        return given
    return _run(["bash", str(HERE / "ensure-venv.sh")], "creating the bench's Vizier environment (bench/tuning/ensure-venv.sh)").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default="clean,lowf1,biased")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--trials", type=int, default=8, help="trials per study, the same for every algorithm")
    parser.add_argument("--rows", type=int, default=600, help="generated reviews per scenario")
    parser.add_argument("--data-seed", type=int, default=11)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--algorithms", default="optuna-tpe,vizier,standin-random")
    parser.add_argument("--work", type=Path, default=REPO / ".local" / "bench-tuning")
    parser.add_argument("--vizier-python", help="the bench environment's python (default: bench/tuning/ensure-venv.sh)")
    parser.add_argument("--json", type=Path, help="also write the JSON result here")
    a = parser.parse_args()
    algorithms = [x.strip() for x in a.algorithms.split(",")]
    unknown = [x for x in algorithms if x not in ALGORITHMS]
    if unknown:
        parser.error(f"--algorithms: unknown {', '.join(unknown)}; known: {', '.join(ALGORITHMS)}")
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds: expected integers, got {a.seeds}")
    if a.trials < 1:
        parser.error("--trials must be at least 1")
    scenarios = [s.strip() for s in a.scenarios.split(",")]

    from searchers import ListSearcher, VizierSearcher, gp, tpe

    from sentiment_trainer.args import search_space

    began = time.perf_counter()
    doc = json.loads(_run(["npx", "tsx", str(HERE / "study-spec.ts"), "--scenarios", ",".join(scenarios), "--seeds", ",".join(map(str, seeds)), "--trials", str(a.trials), "--model", a.model], "study-spec.ts"))
    space, models = search_space(doc["search"]), doc["models"]
    viz_python = vizier_python(a.vizier_python) if "vizier" in algorithms else None
    viz_env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_COMPILATION_CACHE_DIR": str(a.work / "jax-cache"), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    a.work.mkdir(parents=True, exist_ok=True)
    log_path = a.work / "trials.log"
    studies: list[StudyRecord] = []
    trained = 0
    for scenario in scenarios:
        trial = TrialObjective(a.work / "bucket", doc["tuneArgs"][scenario], prepared(a.work, scenario, a.rows, a.data_seed), log_path)
        if not studies:
            # One uncounted trial first: the trainer's first call loads its modules, which no algorithm should pay for.
            trial("warm-up", {"model_family": space.model_families[0], "learning_rate": space.learning_rate.low, "batch_size": max(space.batch_sizes), "epochs": space.epochs.low, "weight_decay": space.weight_decay.low, "dropout": space.dropout.low})
        objective = CachedObjective(trial)
        for seed in seeds:
            for algorithm in algorithms:
                if algorithm == "vizier":
                    assert viz_python is not None
                    with (a.work / "vizier.log").open("a") as viz_log:
                        searcher: Any = VizierSearcher(viz_python, doc["studySpec"], seed, viz_env, viz_log)
                        try:
                            study = run_study(searcher, objective, scenario, seed, a.trials)
                        finally:
                            searcher.close()
                else:
                    make = {"optuna-tpe": tpe, "optuna-gp": gp}.get(algorithm)
                    searcher = make(space, models, seed, a.trials) if make else ListSearcher(algorithm, doc["standIn"][str(seed)])
                    study = run_study(searcher, objective, scenario, seed, a.trials)
                studies.append(study)
                print(f"{scenario} seed {seed} {algorithm}: best {study.best:.4f} in {study.seconds:.0f} s", file=sys.stderr, flush=True)
        trained += objective.trained
    summary = summarise(studies, BASELINE)
    elapsed = time.perf_counter() - began
    print(table(summary, BASELINE))
    print(f"\n{len(studies)} studies of {a.trials} trials ({trained} trained, the rest repeated parameter sets answered from the cache) in {elapsed / 60:.1f} min")
    result = {
        "bench": "tuning-search-quality",
        "scenarios": scenarios, "seeds": seeds, "trials": a.trials, "rows": a.rows, "model": a.model,
        "algorithms": algorithms, "baseline": BASELINE, "elapsedSeconds": round(elapsed, 1), "trainedTrials": trained,
        "summary": summary,
        "studies": [{"algorithm": s.algorithm, "scenario": s.scenario, "seed": s.seed, "trials": [t.__dict__ for t in s.trials]} for s in studies],
    }
    line = json.dumps(result)
    print(line)
    if a.json:
        a.json.write_text(line + "\n")


if __name__ == "__main__":
    main()
