"""The algorithms the search-quality benchmark compares, each as the pipeline (or Vertex) would run it.

- optuna-tpe: the tune job's own study (tune.py): seeded TPE with its start-up count, the default point first.
- optuna-gp: Optuna's GP sampler on the same space and default first point (a Bayesian optimiser in Optuna itself).
- vizier: OSS Vizier's default designer (GP-UCB-PE) over the study spec Vertex is sent, in its own environment.
- standin-random: the Vertex stand-in's search (emulator/vertex/study-search.ts), its picks computed by study-spec.ts.

No pruning anywhere: Vizier here has no early stopping either, so every trial runs its epochs and the comparison is of
where each algorithm looks, not of how it stops.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import IO, Any

import optuna

from sentiment_trainer.args import SearchSpace
from sentiment_trainer.tune import default_point, distinct_families, suggest


class OptunaSearcher:
    def __init__(self, name: str, sampler: optuna.samplers.BaseSampler, space: SearchSpace, models: dict[str, str]) -> None:
        self.name, self.space = name, space
        self.families = distinct_families(space, models)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.study.enqueue_trial(default_point(space, self.families[0]))
        self.pending: list[optuna.Trial] = []

    def ask(self) -> dict[str, Any]:
        trial = self.study.ask()
        self.pending.append(trial)
        return dataclasses.asdict(suggest(trial, self.space, self.families))

    def tell(self, params: dict[str, Any], value: float) -> None:
        self.study.tell(self.pending.pop(0), value)


def tpe(space: SearchSpace, models: dict[str, str], seed: int, trials: int) -> OptunaSearcher:
    # tune.py's sampler: a seeded TPE whose random start-up is half the trials, between 2 and 10.
    startup = max(2, min(10, trials // 2))
    return OptunaSearcher("optuna-tpe", optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup), space, models)


def gp(space: SearchSpace, models: dict[str, str], seed: int, trials: int) -> OptunaSearcher:
    return OptunaSearcher("optuna-gp", optuna.samplers.GPSampler(seed=seed), space, models)


class ListSearcher:
    """Parameter sets fixed in advance (the stand-in's seeded random search does not learn from values)."""

    def __init__(self, name: str, picks: list[dict[str, Any]]) -> None:
        self.name, self.picks = name, list(picks)

    def ask(self) -> dict[str, Any]:
        if not self.picks:
            raise RuntimeError(f"{self.name}: no more picks than the trials it was computed for")
        return self.picks.pop(0)

    def tell(self, params: dict[str, Any], value: float) -> None:
        pass


class VizierSearcher:
    """A client of vizier_designer.py, running in the bench's own Python (JAX and Vizier are not in the trainer's)."""

    def __init__(self, python: str, study_spec: dict[str, Any], seed: int, env: dict[str, str], stderr: IO[str]) -> None:
        self.name = "vizier"
        script = Path(__file__).with_name("vizier_designer.py")
        self.proc = subprocess.Popen([python, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        self.pending: int | None = None
        self._call({"op": "start", "studySpec": study_spec, "seed": seed})

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the Vizier designer ended (exit {self.proc.wait()}); its log is the bench's stderr")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the Vizier designer refused {request['op']}: {answer['error']}")
        return answer

    def ask(self) -> dict[str, Any]:
        answer = self._call({"op": "suggest"})
        self.pending = answer["id"]
        return dict(answer["params"])

    def tell(self, params: dict[str, Any], value: float) -> None:
        self._call({"op": "complete", "id": self.pending, "value": value})

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
