"""Typed job arguments: `<step> --kebab-flag value ...` into dataclasses, mirroring gpu-jobs/specs/job-args.ts.

Strings are passed raw and everything else as JSON. The rebuilt camelCase document is validated against the JSON
Schema the TypeScript side generates, so both languages accept exactly the same arguments.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from . import contracts
from .errors import JobInputError

Step = Literal["tune", "train"]
STEPS: tuple[Step, ...] = ("tune", "train")


class ArgumentError(ValueError):
    """Bad job arguments: retrying cannot help. The message names the flag at fault."""


def kebab(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: f"-{m.group(0).lower()}", name)


def camel(name: str) -> str:
    return re.sub(r"[-_]([a-z])", lambda m: m.group(1).upper(), name)


def snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: f"_{m.group(0).lower()}", name)


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int


@dataclass(frozen=True)
class SearchSpace:
    model_families: tuple[str, ...]
    learning_rate: Range
    batch_sizes: tuple[int, ...]
    epochs: IntRange
    weight_decay: Range
    dropout: Range
    trials: int
    #: Seconds the study may run; 0 for no limit.
    time_budget: int = 0
    #: Trials at once; above 1 a Vertex AI tuning job runs them (gpu-jobs/tune/job.ts), each through trial.py.
    parallel_trials: int = 1
    #: Vertex AI's automated early stopping of trials (median, decayCurve, none); Optuna prunes by successive halving.
    early_stopping: str = "median"


@dataclass(frozen=True)
class HyperParams:
    model_family: str
    learning_rate: float
    batch_size: int
    epochs: int
    weight_decay: float
    dropout: float

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = to_camel(self)
        return out


@dataclass(frozen=True)
class SliceCondition:
    column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class SliceWeight:
    column: str
    value: str
    weight: float
    f1: float
    ratio: float
    # The rows of a pooled ("other") or crossed slice: every condition holds. None: rows whose column is value.
    # Optional in the schema, not nullable: left out of the JSON when None.
    where: tuple[SliceCondition, ...] | None = field(default=None, metadata={"omit_none": True})

    def holds(self, slices: dict[str, str]) -> bool:
        if self.where is None:
            return slices.get(self.column) == self.value
        return all(slices.get(c.column) in c.values for c in self.where)


@dataclass(frozen=True)
class MitigationPlan:
    method: str
    slices: tuple[SliceWeight, ...]
    from_evaluation_attempt: int

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = to_camel(self)
        return out


@dataclass(frozen=True)
class JobArgs:
    """Fields every trainer job gets (Common + ModelSettings in schemas/job-input.ts)."""

    step: Step
    run_id: str
    attempt: int
    correlation_id: str
    run_dir: str
    out_dir: str
    data_dir: str
    models: dict[str, str]
    max_length: int
    seed: int
    use_side_features: bool
    early_stopping_patience: int
    warmup_ratio: float
    max_grad_norm: float
    #: training.compileStep (step.COMPILE_MODES); optional in the job input, so older inputs still parse.
    compile_step: str = field(default="auto", kw_only=True)


@dataclass(frozen=True)
class TuneArgs(JobArgs):
    search: SearchSpace


@dataclass(frozen=True)
class TrainArgs(JobArgs):
    params: HyperParams
    mitigation: MitigationPlan | None
    #: How far below fp32's the int8 export's validation weighted and macro F1 may be and still be served.
    int8_f1_tolerance: float = 0.02


def to_camel(value: Any) -> Any:
    """Dataclass -> the camelCase JSON document the schemas describe."""
    if hasattr(value, "__dataclass_fields__"):
        return {
            camel(f.name): to_camel(getattr(value, f.name))
            for f in fields(value)
            if not (f.metadata.get("omit_none") and getattr(value, f.name) is None)
        }
    if isinstance(value, (list, tuple)):
        return [to_camel(v) for v in value]
    if isinstance(value, dict):
        return {k: to_camel(v) for k, v in value.items()}
    return value


def _string_field(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "string"


def parse_raw(step: str, argv: list[str]) -> dict[str, Any]:
    """The camelCase document before validation; raises ArgumentError naming the flag."""
    if step not in STEPS:
        raise ArgumentError(f"unknown command {step!r}: expected one of {', '.join(STEPS)}")
    props: dict[str, Any] = contracts.schema(f"{step}-job-input")["properties"]
    raw: dict[str, Any] = {"step": step}
    i = 0
    while i < len(argv):
        flag = argv[i]
        if not flag.startswith("--"):
            raise ArgumentError(f"{step}: expected a --flag, got {json.dumps(flag)}")
        key = camel(flag[2:])
        if key == "step" or key not in props or kebab(key) != flag[2:]:
            raise ArgumentError(f"{step}: unknown flag {flag}")
        if i + 1 >= len(argv):
            raise ArgumentError(f"{step}: flag {flag} needs a value")
        value = argv[i + 1]
        if key in raw:
            raise ArgumentError(f"{step}: flag {flag} given twice")
        if _string_field(props[key]):
            raw[key] = value
        else:
            try:
                raw[key] = json.loads(value)
            except json.JSONDecodeError:
                raise ArgumentError(f"{step}: flag {flag} must be JSON, got {json.dumps(value[:80])}") from None
        i += 2
    return raw


def validate(step: str, raw: dict[str, Any]) -> None:
    found = contracts.errors(f"{step}-job-input", raw)
    if not found:
        return
    issues = []
    for e in found[:5]:
        path = [str(p) for p in e.absolute_path]
        if path:
            where = f"--{kebab(path[0])}" + ("." + ".".join(path[1:]) if len(path) > 1 else "")
        elif e.validator == "required":
            missing = re.findall(r"'([A-Za-z]+)' is a required property", e.message)
            where = f"--{kebab(missing[0])}" if missing else "(arguments)"
        else:
            where = "(arguments)"
        message = "is required" if e.validator == "required" and not path else e.message
        issues.append(f"{where}: {message}")
    raise ArgumentError(f"{step}: invalid arguments: {'; '.join(issues)}")


_BUCKET = r"[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]"


def check_locations(step: str, raw: dict[str, Any], env: Any) -> None:
    """Where the job may read and write (schemas/job-input.ts `jobLocations`, and the bucket check of the job runtime):
    its run folder is gs://BUCKET/runs/RUN_ID for its own run id and configured bucket, its output folder that folder's
    <step>/a<attempt>, and its data this run's prepare/aN folder. `/etc`, `../..`, `file://`, another bucket or another
    run's data is refused before anything is read."""
    run_id, run_dir = raw["runId"], raw["runDir"]
    bucket = env.get("BUCKET")
    m = re.fullmatch(r"gs://(" + _BUCKET + r")/runs/([^/]+)", run_dir)
    if not m or m.group(2) != run_id or (bucket and m.group(1) != bucket):
        where = f"gs://{bucket or 'BUCKET'}/runs/{run_id}"
        raise ArgumentError(f"{step}: --run-dir must be {where} (this job's run folder), got {json.dumps(run_dir[:200])}")
    out_dir = f"{run_dir}/{step}/a{raw['attempt']}"
    if raw["outDir"] != out_dir:
        raise ArgumentError(f"{step}: --out-dir must be {out_dir} (this step attempt's own folder), got {json.dumps(raw['outDir'][:200])}")
    if not re.fullmatch(re.escape(run_dir) + r"/prepare/a[1-9][0-9]*/?", raw["dataDir"]):
        raise ArgumentError(f"{step}: --data-dir must be this run's prepare folder {run_dir}/prepare/aN, got {json.dumps(raw['dataDir'][:200])}")


def under_out_dir(args: JobArgs, env: Any, name: str, default: str) -> str:
    """A folder Vertex names in the environment (AIP_MODEL_DIR, AIP_CHECKPOINT_DIR): it lies under the job's output
    folder, as Vertex derives it from baseOutputDirectory; anything else is refused rather than written to."""
    value = env.get(name)
    if not value:
        return default
    if not value.startswith(f"{args.out_dir}/") or "/../" in f"{value}/" or "/./" in f"{value}/":
        raise JobInputError(f"{args.step}: {name} must lie under the job's output folder {args.out_dir}/, got {json.dumps(value[:200])}")
    return value


def _range(d: dict[str, Any]) -> Range:
    return Range(low=float(d["low"]), high=float(d["high"]), log=bool(d["log"]))


def _common(raw: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(JobArgs)}
    out = {snake(k): v for k, v in raw.items() if snake(k) in names}
    out["models"] = dict(raw["models"])
    return out


def search_space(d: dict[str, Any]) -> SearchSpace:
    return SearchSpace(
        model_families=tuple(d["modelFamilies"]),
        learning_rate=_range(d["learningRate"]),
        batch_sizes=tuple(int(b) for b in d["batchSizes"]),
        epochs=IntRange(low=int(d["epochs"]["low"]), high=int(d["epochs"]["high"])),
        weight_decay=_range(d["weightDecay"]),
        dropout=_range(d["dropout"]),
        trials=int(d["trials"]),
        time_budget=int(d.get("timeBudget", 0)),
        parallel_trials=int(d.get("parallelTrials", 1)),
        early_stopping=str(d.get("earlyStopping", "median")),
    )


def hyper_params(d: dict[str, Any]) -> HyperParams:
    return HyperParams(
        model_family=d["modelFamily"],
        learning_rate=float(d["learningRate"]),
        batch_size=int(d["batchSize"]),
        epochs=int(d["epochs"]),
        weight_decay=float(d["weightDecay"]),
        dropout=float(d["dropout"]),
    )


def slice_conditions(items: list[dict[str, Any]]) -> tuple[SliceCondition, ...]:
    return tuple(SliceCondition(column=c["column"], values=tuple(c["values"])) for c in items)


def mitigation_plan(d: dict[str, Any] | None) -> MitigationPlan | None:
    if d is None:
        return None
    slices = tuple(
        SliceWeight(
            column=s["column"],
            value=s["value"],
            weight=float(s["weight"]),
            f1=float(s["f1"]),
            ratio=float(s["ratio"]),
            where=slice_conditions(s["where"]) if "where" in s else None,
        )
        for s in d["slices"]
    )
    return MitigationPlan(method=d["method"], slices=slices, from_evaluation_attempt=int(d["fromEvaluationAttempt"]))


def parse_args(argv: list[str], env: Any = None) -> TuneArgs | TrainArgs:
    """`[step, --flag, value, ...]` into validated, typed arguments."""
    if not argv:
        raise ArgumentError(f"missing command: expected one of {', '.join(STEPS)}")
    step, rest = argv[0], argv[1:]
    raw = parse_raw(step, rest)
    validate(step, raw)
    check_locations(step, raw, os.environ if env is None else env)
    common = _common(raw)
    if step == "tune":
        return TuneArgs(**common, search=search_space(raw["search"]))
    tolerance = float(raw.get("int8F1Tolerance", 0.02))
    return TrainArgs(**common, params=hyper_params(raw["params"]), mitigation=mitigation_plan(raw["mitigation"]), int8_f1_tolerance=tolerance)


def identity(argv: list[str]) -> dict[str, Any] | None:
    """runId, attempt, correlationId and step when they can be read from arguments that failed validation as a whole,
    so the failure can still be reported as a job.failed event of the right run."""
    if not argv or argv[0] not in STEPS:
        return None
    found: dict[str, Any] = {"step": argv[0]}
    pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
    run_id, attempt, correlation = pairs.get("--run-id"), pairs.get("--attempt"), pairs.get("--correlation-id")
    if run_id is None or attempt is None or not re.fullmatch(r"[a-z0-9][a-z0-9-]{2,62}", run_id):
        return None
    if not re.fullmatch(r"[1-9][0-9]{0,8}", attempt):
        return None
    found.update(runId=run_id, attempt=int(attempt), correlationId=correlation or run_id)
    return found
