"""OSS Vizier's default designer (GP-UCB-PE), driven over stdin/stdout by search_quality.py for the Vizier side.

Runs in the bench's own environment (bench/tuning/ensure-venv.sh: google-vizier[jax], pinned in requirements.lock),
apart from the trainer's, which keeps its own lock. `ALGORITHM_UNSPECIFIED` and `DEFAULT` map to
`gp_ucb_pe.VizierGPUCBPEBandit` in OSS Vizier's own service (vizier/_src/service/policy_factory.py): the open-source
designer of the algorithm Vertex AI Vizier documents as its default, not the managed service itself.

One JSON request per stdin line, one JSON answer per stdout line:
    {"op": "start", "studySpec": <Vertex v1 StudySpec>, "seed": 1}  -> {"ok": true}
    {"op": "suggest"}                                              -> {"id": 1, "params": {...}, "seconds": 0.4}
    {"op": "complete", "id": 1, "value": 0.81}                     -> {"ok": true}
A bad request answers {"error": "..."} naming the field; the designer keeps its state.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

# JAX on CPU only, quietly: the benchmark's own machine has no accelerator and its stdout is the protocol.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import jax  # noqa: E402

# As OSS Vizier's own service does (vizier/_src/service/pythia_service.py): in float32 the GP's acquisition turns NaN
# after a few trials and the designer suggests a trial with no numeric parameters at all.
jax.config.update("jax_enable_x64", True)

from vizier import algorithms as vza  # noqa: E402
from vizier import pyvizier as vz  # noqa: E402
from vizier._src.algorithms.designers import gp_ucb_pe  # noqa: E402

METRIC = "validation_weighted_f1"
_SCALES = {"UNIT_LOG_SCALE": vz.ScaleType.LOG, "UNIT_LINEAR_SCALE": vz.ScaleType.LINEAR, "UNIT_REVERSE_LOG_SCALE": vz.ScaleType.REVERSE_LOG}


class RequestError(ValueError):
    pass


def problem_of(spec: dict[str, Any]) -> vz.ProblemStatement:
    """A Vertex v1 StudySpec (as gpu-jobs/tune/tuning-job.ts builds it) as OSS Vizier's problem statement."""
    problem = vz.ProblemStatement()
    root = problem.search_space.root
    params = spec.get("parameters")
    if not isinstance(params, list) or not params:
        raise RequestError("studySpec.parameters must be a non-empty list")
    for i, p in enumerate(params):
        where = f"studySpec.parameters[{i}]"
        pid = p.get("parameterId")
        if not isinstance(pid, str) or not pid:
            raise RequestError(f"{where}.parameterId is required")
        scale = _SCALES.get(p.get("scaleType") or "", None)
        if "categoricalValueSpec" in p:
            root.add_categorical_param(pid, [str(v) for v in p["categoricalValueSpec"]["values"]])
        elif "doubleValueSpec" in p:
            d = p["doubleValueSpec"]
            root.add_float_param(pid, float(d["minValue"]), float(d["maxValue"]), scale_type=scale)
        elif "integerValueSpec" in p:
            d = p["integerValueSpec"]
            root.add_int_param(pid, int(d["minValue"]), int(d["maxValue"]), scale_type=scale)
        elif "discreteValueSpec" in p:
            root.add_discrete_param(pid, [float(v) for v in p["discreteValueSpec"]["values"]], scale_type=scale)
        else:
            raise RequestError(f"{where} has no value spec Vizier knows")
    metrics = spec.get("metrics") or [{"metricId": METRIC, "goal": "MAXIMIZE"}]
    for m in metrics:
        goal = vz.ObjectiveMetricGoal.MAXIMIZE if m.get("goal") == "MAXIMIZE" else vz.ObjectiveMetricGoal.MINIMIZE
        problem.metric_information.append(vz.MetricInformation(m["metricId"], goal=goal))
    return problem


def _plain(value: Any) -> Any:
    # Discrete values come back as floats (32.0): Vertex passes an integral value as `--batch_size=32`.
    return int(value) if isinstance(value, float) and value.is_integer() else value


class Session:
    def __init__(self) -> None:
        self.designer: gp_ucb_pe.VizierGPUCBPEBandit | None = None
        self.pending: dict[int, vz.Trial] = {}
        self.count = 0
        self.metric = METRIC
        self.names: list[str] = []

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op == "start":
            problem = problem_of(req.get("studySpec") or {})
            self.metric = problem.metric_information.item().name
            self.names = [p.name for p in problem.search_space.parameters]
            seed = req.get("seed")
            if not isinstance(seed, int):
                raise RequestError("start.seed must be an integer")
            self.designer = gp_ucb_pe.VizierGPUCBPEBandit(problem, rng=jax.random.PRNGKey(seed))
            self.pending, self.count = {}, 0
            return {"ok": True}
        if self.designer is None:
            raise RequestError(f"{op}: no study started (send op=start first)")
        if op == "suggest":
            began = time.perf_counter()
            [suggestion] = self.designer.suggest(1)
            self.count += 1
            trial = suggestion.to_trial(self.count)
            self.pending[self.count] = trial
            params = {k: _plain(v.value) for k, v in trial.parameters.items()}
            missing = sorted(set(self.names) - set(params))
            if missing:
                raise RequestError(f"suggest: the designer left out {', '.join(missing)} (a NaN acquisition)")
            return {"id": self.count, "params": params, "seconds": round(time.perf_counter() - began, 3)}
        if op == "complete":
            trial = self.pending.pop(req.get("id"), None)  # type: ignore[arg-type]
            value = req.get("value")
            if trial is None:
                raise RequestError(f"complete.id: no pending trial {req.get('id')!r}")
            if not isinstance(value, (int, float)):
                raise RequestError("complete.value must be a number")
            trial.complete(vz.Measurement({self.metric: float(value)}))
            self.designer.update(vza.CompletedTrials([trial]), vza.ActiveTrials())
            return {"ok": True}
        raise RequestError(f"op: {op!r} is not start, suggest or complete")


def main() -> None:
    session = Session()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = session.handle(json.loads(line))
        except (RequestError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            answer = {"error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
