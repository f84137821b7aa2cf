"""The search-quality benchmark's harness (bench/tuning): the loop, the cache and the figures, on a fake objective.

The real objective trains the model (minutes); these check what the benchmark's figures are computed from, in a few
seconds. The Vizier side needs the bench's own environment (bench/tuning/ensure-venv.sh) and is tested only there.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, SEARCH

sys.path.insert(0, str(REPO / "bench" / "tuning"))

from harness import REACH, CachedObjective, StudyRecord, TrialRecord, run_study, summarise, table  # noqa: E402
from searchers import ListSearcher, tpe  # noqa: E402

from sentiment_trainer.args import search_space  # noqa: E402
from sentiment_trainer.tune import default_point  # noqa: E402

MODELS = {"bert": "tiny", "roberta": "tiny"}


def _fake(params: dict[str, Any]) -> float:
    """Peaks at learning rate 3e-4: a landscape a searcher can learn, smooth in log space like the real one."""
    return 1.0 - 0.1 * (math.log10(params["learning_rate"]) - math.log10(3e-4)) ** 2 - 0.01 * params["dropout"]


def _study(algorithm: str, seed: int, values: list[float], scenario: str = "s") -> StudyRecord:
    record = StudyRecord(algorithm, scenario, seed)
    for i, v in enumerate(values, start=1):
        record.trials.append(TrialRecord(i, {"i": i}, v, 2.0, 0.5, False))
    return record


def test_trials_to_reach_is_the_first_trial_within_reach_of_the_target() -> None:
    s = _study("a", 1, [0.5, 0.7, 0.65, 0.795, 0.81])
    assert s.best_so_far() == [0.5, 0.7, 0.7, 0.795, 0.81]
    assert s.trials_to_reach(0.80) == 4  # 0.795 lies within REACH of 0.80
    assert s.trials_to_reach(0.805) == 4
    assert s.trials_to_reach(0.81) == 5
    assert s.trials_to_reach(0.83) is None
    assert s.seconds == pytest.approx(5 * 2.5)


def test_the_summary_compares_each_algorithm_with_the_baseline_over_seeds() -> None:
    studies = [
        _study("base", 1, [0.6, 0.7]), _study("base", 2, [0.5, 0.72]), _study("base", 3, [0.74, 0.6]),
        _study("other", 1, [0.8, 0.6]), _study("other", 2, [0.5, 0.6]), _study("other", 3, [0.6, 0.79]),
    ]
    row = summarise(studies, "base")["s"]
    assert row["best"] == 0.8
    base, other = row["algorithms"]["base"], row["algorithms"]["other"]
    assert base["best"] == {"median": 0.72, "min": 0.7, "max": 0.74}
    assert other["best"]["median"] == 0.79 and other["bestMinusBaseline"] == pytest.approx(0.07)
    # Other reached 0.8 - REACH at trial 1 (seed 1) and 2 (seed 3); seed 2 never did and counts as budget + 1.
    assert other["trialsToReachBySeed"] == [1, None, 2] and other["reached"] == 2 and other["trialsToReach"] == 2
    assert base["reached"] == 0 and base["trialsToReach"] == 3
    assert base["baselineSpread"] == pytest.approx(0.04) and other["secondsRatio"] == pytest.approx(1.0)
    assert "| s (best 0.800) | other | 0.790 (0.600-0.800) | +0.070 | 2 (2/3) |" in table({"s": row}, "base")


def test_a_repeated_parameter_set_is_answered_from_the_cache_at_its_first_cost() -> None:
    calls: list[str] = []
    ticks = iter([0.0, 3.0, 10.0, 11.0])

    def objective(trial_id: str, params: dict[str, Any]) -> float:
        calls.append(trial_id)
        return _fake(params)

    cached = CachedObjective(objective, clock=lambda: next(ticks))
    p = {"learning_rate": 1e-4, "dropout": 0.1}
    first = cached("t1", p)
    again = cached("t2", dict(reversed(list(p.items()))))
    other = cached("t3", {**p, "dropout": 0.2})
    assert calls == ["t1", "t3"] and cached.trained == 2
    assert first == (_fake(p), 3.0, False) and again == (_fake(p), 3.0, True) and other[2] is False


def test_the_tpe_study_is_the_tune_jobs_own_default_point_first_then_within_the_space() -> None:
    space = search_space({**SEARCH, "trials": 6})
    calls: list[dict[str, Any]] = []

    def objective(trial_id: str, params: dict[str, Any]) -> float:
        calls.append(params)
        return _fake(params)

    study = run_study(tpe(space, MODELS, seed=1, trials=6), CachedObjective(objective), "s", 1, 6)
    assert len(study.trials) == 6 and study.algorithm == "optuna-tpe"
    assert study.trials[0].params == default_point(space, "bert")
    for t in study.trials:
        p = t.params
        assert p["model_family"] == "bert" and p["batch_size"] in space.batch_sizes
        assert space.learning_rate.low <= p["learning_rate"] <= space.learning_rate.high
        assert space.epochs.low <= p["epochs"] <= space.epochs.high
        assert t.value == pytest.approx(_fake(p))
    # The same seed proposes the same study: the benchmark's seeds are reproducible.
    again = run_study(tpe(space, MODELS, seed=1, trials=6), CachedObjective(_ignore_id), "s", 1, 6)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]


def _ignore_id(_trial_id: str, params: dict[str, Any]) -> float:
    return _fake(params)


def test_a_fixed_list_of_picks_is_run_in_order_and_refuses_to_run_past_its_end() -> None:
    picks = [{"learning_rate": 1e-4, "dropout": 0.1}, {"learning_rate": 3e-4, "dropout": 0.1}]
    study = run_study(ListSearcher("standin-random", picks), CachedObjective(_ignore_id), "s", 7, 2)
    assert [t.params for t in study.trials] == picks and study.trials_to_reach(study.best) == 2
    assert abs(study.best - _fake(picks[1])) < REACH
    with pytest.raises(RuntimeError, match="no more picks"):
        run_study(ListSearcher("standin-random", picks), CachedObjective(_ignore_id), "s", 7, 3)


def _bench_python() -> str | None:
    """The bench's Vizier environment when it was made here (bench/tuning/ensure-venv.sh); CI does not make it."""
    lock = REPO / "bench" / "tuning" / "requirements.lock"
    digest = subprocess.run(["sha256sum", str(lock)], capture_output=True, text=True, check=True).stdout[:16]
    venv = Path(os.environ.get("SP_VENV_ROOT") or Path.home() / ".cache" / "sentiment-pipeline") / f"bench-tuning-{digest}"
    return str(venv / "bin" / "python") if (venv / ".sp-venv-complete").is_file() else None


@pytest.mark.skipif(_bench_python() is None, reason="the bench's Vizier environment is not made here (bench/tuning/ensure-venv.sh)")
def test_the_vizier_designer_reads_the_study_spec_vertex_is_sent() -> None:
    spec = {
        "metrics": [{"metricId": "validation_weighted_f1", "goal": "MAXIMIZE"}],
        "parameters": [
            {"parameterId": "model_family", "categoricalValueSpec": {"values": ["bert"]}},
            {"parameterId": "learning_rate", "doubleValueSpec": {"minValue": 1e-5, "maxValue": 1e-3}, "scaleType": "UNIT_LOG_SCALE"},
            {"parameterId": "batch_size", "discreteValueSpec": {"values": [32, 64]}, "scaleType": "UNIT_LINEAR_SCALE"},
            {"parameterId": "epochs", "integerValueSpec": {"minValue": 3, "maxValue": 5}, "scaleType": "UNIT_LINEAR_SCALE"},
        ],
    }
    requests = [
        {"op": "suggest"},
        {"op": "start", "studySpec": spec, "seed": 1},
        {"op": "suggest"},
        {"op": "complete", "id": 1, "value": 0.7},
        {"op": "complete", "id": 1, "value": 0.7},
    ]
    done = subprocess.run(
        [_bench_python(), str(REPO / "bench" / "tuning" / "vizier_designer.py")],
        input="".join(json.dumps(r) + "\n" for r in requests), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert "no study started" in answers[0]["error"] and answers[1] == {"ok": True}
    # The designer's first trial is the centre of the space: 1e-4 is the centre of [1e-5, 1e-3] on a log scale only.
    params = answers[2]["params"]
    assert params["model_family"] == "bert" and params["learning_rate"] == pytest.approx(1e-4, rel=1e-3)
    assert params["batch_size"] in (32, 64) and isinstance(params["batch_size"], int) and params["epochs"] == 4
    assert answers[3] == {"ok": True} and "no pending trial 1" in answers[4]["error"]
