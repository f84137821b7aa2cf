"""The search-quality benchmark's loop and figures: searchers ask, the objective answers, the summary compares.

Pure of torch and JAX, so the trainer's pytest suite runs it with a fake objective. A searcher proposes one
parameter set at a time and is told its value (Optuna's ask/tell, Vizier's suggest/complete, a fixed list for the
Vertex stand-in's random search). The objective is deterministic for a parameter set (the trial trains with the
config's fixed seed), so a repeated set is answered from a cache and charged what it cost the first time.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: A trial within this much of the scenario's best value counts as having reached it.
REACH = 0.01


class Searcher(Protocol):
    name: str

    def ask(self) -> dict[str, Any]: ...

    def tell(self, params: dict[str, Any], value: float) -> None: ...


@dataclass
class TrialRecord:
    number: int
    params: dict[str, Any]
    value: float
    train_seconds: float
    suggest_seconds: float
    cached: bool


@dataclass
class StudyRecord:
    algorithm: str
    scenario: str
    seed: int
    trials: list[TrialRecord] = field(default_factory=list)

    @property
    def best(self) -> float:
        return max(t.value for t in self.trials)

    @property
    def seconds(self) -> float:
        """What the study cost: each trial's training (a cached one at its first cost) and each suggestion."""
        return sum(t.train_seconds + t.suggest_seconds for t in self.trials)

    def best_so_far(self) -> list[float]:
        out: list[float] = []
        for t in self.trials:
            out.append(max(t.value, out[-1]) if out else t.value)
        return out

    def trials_to_reach(self, target: float) -> int | None:
        """The 1-based trial at which the study first came within REACH of target; None when it never did."""
        for i, v in enumerate(self.best_so_far(), start=1):
            if v >= target - REACH:
                return i
        return None


Objective = Callable[[str, dict[str, Any]], float]


class CachedObjective:
    """Answers a parameter set already trained on this scenario from memory, with the seconds it took then."""

    def __init__(self, objective: Objective, clock: Callable[[], float] = time.perf_counter) -> None:
        self.objective, self.clock = objective, clock
        self.seen: dict[str, tuple[float, float]] = {}
        self.trained = 0

    def __call__(self, trial_id: str, params: dict[str, Any]) -> tuple[float, float, bool]:
        key = json.dumps(params, sort_keys=True)
        if key in self.seen:
            value, seconds = self.seen[key]
            return value, seconds, True
        began = self.clock()
        value = self.objective(trial_id, params)
        seconds = self.clock() - began
        self.seen[key] = (value, seconds)
        self.trained += 1
        return value, seconds, False


def run_study(searcher: Searcher, objective: CachedObjective, scenario: str, seed: int, trials: int, clock: Callable[[], float] = time.perf_counter) -> StudyRecord:
    record = StudyRecord(searcher.name, scenario, seed)
    for number in range(1, trials + 1):
        began = clock()
        params = searcher.ask()
        suggest_seconds = clock() - began
        value, seconds, cached = objective(f"{searcher.name}-s{seed}-t{number}", params)
        began = clock()
        searcher.tell(params, value)
        suggest_seconds += clock() - began
        record.trials.append(TrialRecord(number, params, value, seconds, suggest_seconds, cached))
    return record


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise(studies: Sequence[StudyRecord], baseline: str) -> dict[str, Any]:
    """Per scenario and algorithm: best value (median and range over seeds), trials to come within REACH of the
    scenario's best (over every algorithm and seed), and seconds; each against the baseline algorithm's."""
    out: dict[str, Any] = {}
    for scenario in dict.fromkeys(s.scenario for s in studies):
        mine = [s for s in studies if s.scenario == scenario]
        best = max(s.best for s in mine)
        rows: dict[str, Any] = {}
        for algorithm in dict.fromkeys(s.algorithm for s in mine):
            runs = [s for s in mine if s.algorithm == algorithm]
            reach = [s.trials_to_reach(best) for s in runs]
            rows[algorithm] = {
                "seeds": [s.seed for s in runs],
                "best": _spread([s.best for s in runs]),
                "bestBySeed": [round(s.best, 4) for s in runs],
                "reached": sum(r is not None for r in reach),
                # A seed that never came within REACH counts as one past the budget, so the median stays defined.
                "trialsToReach": statistics.median([len(s.trials) + 1 if r is None else r for s, r in zip(runs, reach, strict=True)]),
                "trialsToReachBySeed": reach,
                "seconds": _spread([s.seconds for s in runs]),
                "suggestSeconds": statistics.median([sum(t.suggest_seconds for t in s.trials) for s in runs]),
                "cachedTrials": sum(t.cached for s in runs for t in s.trials),
            }
        base = rows.get(baseline)
        if base is not None:
            for row in rows.values():
                row["bestMinusBaseline"] = row["best"]["median"] - base["best"]["median"]
                row["secondsRatio"] = row["seconds"]["median"] / base["seconds"]["median"] if base["seconds"]["median"] > 0 else None
                # Seed spread: the baseline's range of best values, against which a difference of medians is read.
                row["baselineSpread"] = base["best"]["max"] - base["best"]["min"]
        out[scenario] = {"best": best, "algorithms": rows}
    return out


def table(summary: dict[str, Any], baseline: str) -> str:
    """The summary as the markdown table docs/benchmarks.md records."""
    lines = [
        f"| scenario | algorithm | best val weighted F1, median (range) | vs {baseline} | trials to within {REACH} of the best (seeds reaching) | seconds per study, median (of which suggesting) | vs {baseline} |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for scenario, s in summary.items():
        for algorithm, r in s["algorithms"].items():
            b = r["best"]
            delta = r.get("bestMinusBaseline")
            ratio = r.get("secondsRatio")
            lines.append(
                f"| {scenario} (best {s['best']:.3f}) | {algorithm} | {b['median']:.3f} ({b['min']:.3f}-{b['max']:.3f}) | "
                f"{'' if delta is None else f'{delta:+.3f}'} | {r['trialsToReach']:g} ({r['reached']}/{len(r['seeds'])}) | "
                f"{r['seconds']['median']:.0f} ({r['suggestSeconds']:.0f}) | {'' if ratio is None else f'{ratio:.2f}x'} |"
            )
    return "\n".join(lines)
