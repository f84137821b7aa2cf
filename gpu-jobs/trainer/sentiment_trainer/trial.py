"""One tuning trial, as a Vertex AI hyperparameter tuning job runs it: `trial <tune job's flags> --name=value ...`.

Vertex appends the study's parameters as `--learning_rate=0.0003` flags and names the trial in CLOUD_ML_TRIAL_ID. The
trial trains through the very objective the local Optuna study runs (tune._Objective, with a one-trial study holding
these parameters and no pruner: Vertex's automated early stopping stops a trial from outside, by ending its process),
reports each epoch's validation weighted F1 to the hypertune file, keeps its best checkpoint under
<outDir>/trials/<id>/best-trial/ and writes <outDir>/trials/<id>/trial.json. It emits no tuning.completed and no
job.failed: the tune job that submitted the tuning job reads every trial and decides (gpu-jobs/tune/job.ts).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

import optuna

from . import storage
from .args import ArgumentError, HyperParams, Range, SearchSpace, TuneArgs
from .errors import Interrupted
from .hypertune import Hypertune
from .runtime import JobContext, load_inputs
from .tracking import Tracker
from .tune import BEST_TRIAL, _Budget, _Objective, distinct_families

COMMAND = "trial"
PARAMETERS = ("model_family", "learning_rate", "batch_size", "epochs", "weight_decay", "dropout")
_PARAM_FLAG = re.compile(r"--([a-z_]+)=(.*)", re.S)


def split_argv(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """The tune job's `--flag value` pairs, and the `--name=value` parameters Vertex appended (the only `=` flags)."""
    tune: list[str] = []
    params: dict[str, str] = {}
    i = 0
    while i < len(argv):
        m = _PARAM_FLAG.fullmatch(argv[i])
        if m:
            name, value = m.groups()
            if name in params:
                raise ArgumentError(f"{COMMAND}: parameter --{name} given twice")
            params[name] = value
            i += 1
        else:
            tune.extend(argv[i : i + 2])
            i += 2
    return tune, params


def _in_range(name: str, value: float, r: Range) -> float:
    if not (math.isfinite(value) and r.low <= value <= r.high):
        raise ArgumentError(f"{COMMAND}: --{name}={value} lies outside the search space [{r.low}, {r.high}]")
    return value


def trial_params(raw: dict[str, str], space: SearchSpace, models: dict[str, str]) -> HyperParams:
    """The parameters as typed hyperparameters, each checked against the search space; the error names the flag."""
    unknown = sorted(set(raw) - set(PARAMETERS))
    missing = [p for p in PARAMETERS if p not in raw]
    if unknown or missing:
        raise ArgumentError(f"{COMMAND}: " + "; ".join([*(f"unknown parameter --{u}" for u in unknown), *(f"parameter --{m} is required" for m in missing)]))

    def number(name: str) -> float:
        try:
            return float(raw[name])
        except ValueError:
            raise ArgumentError(f"{COMMAND}: --{name} must be a number, got {json.dumps(raw[name][:80])}") from None

    family = raw["model_family"]
    if family not in distinct_families(space, models):
        raise ArgumentError(f"{COMMAND}: --model_family={family[:80]} is not one of {', '.join(distinct_families(space, models))}")
    batch, epochs = number("batch_size"), number("epochs")
    if batch not in space.batch_sizes:
        raise ArgumentError(f"{COMMAND}: --batch_size={raw['batch_size'][:80]} is not one of {list(space.batch_sizes)}")
    if epochs != int(epochs) or not space.epochs.low <= epochs <= space.epochs.high:
        raise ArgumentError(f"{COMMAND}: --epochs={raw['epochs'][:80]} is not an integer in [{space.epochs.low}, {space.epochs.high}]")
    return HyperParams(
        model_family=family,
        learning_rate=_in_range("learning_rate", number("learning_rate"), space.learning_rate),
        batch_size=int(batch),
        epochs=int(epochs),
        weight_decay=_in_range("weight_decay", number("weight_decay"), space.weight_decay),
        dropout=_in_range("dropout", number("dropout"), space.dropout),
    )


def trial_dir(args: TuneArgs, trial_id: str) -> str:
    return storage.join(args.out_dir, "trials", trial_id)


def run_trial(args: TuneArgs, params: HyperParams, ctx: JobContext) -> dict[str, Any]:
    log = ctx.log
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    hypertune = Hypertune(ctx.env)
    trial_id = hypertune.trial_id
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", trial_id):
        raise ArgumentError(f"{COMMAND}: CLOUD_ML_TRIAL_ID must be a short id, got {json.dumps(trial_id[:80])}")
    folder = trial_dir(args, trial_id)
    inputs = load_inputs(args, log)
    tracker = Tracker(log, args.run_id, "tune", args.attempt)
    # One trial, no deadline (the tuning job's trial timeout bounds it), no pruner (Vertex stops trials itself).
    budget = _Budget(0, 1, 0)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    study.enqueue_trial(dataclasses.asdict(params))
    objective = _Objective(
        args, ctx, inputs, tracker, budget, [params.model_family], storage.join(folder, BEST_TRIAL),
        on_epoch_value=lambda value, epoch: hypertune.report(value, epoch), label=f"trial {trial_id}", trial_id=trial_id,
    )
    summary: dict[str, Any] = {"trialId": trial_id, "params": params.to_json(), "stopped": False}
    log.info(f"trial {trial_id} started", params=params.to_json(), metricFile=str(hypertune.path))
    try:
        study.optimize(objective, n_trials=1, catch=())
    except Interrupted:
        # Vertex's early stopping (or a cancelled tuning job) ends the trial's process: its reports so far stand.
        summary["stopped"] = True
        storage.write_text(storage.join(folder, "trial.json"), json.dumps(summary, indent=2) + "\n")
        raise
    t = study.trials[0]
    summary.update(value=t.value, validation=t.user_attrs.get("validation"), bestEpoch=t.user_attrs.get("bestEpoch"), epochsRun=t.user_attrs.get("epochsRun"), checkpoint=t.user_attrs.get("checkpoint"))
    storage.write_text(storage.join(folder, "trial.json"), json.dumps(summary, indent=2) + "\n")
    log.info(f"trial {trial_id} finished", weightedF1=t.value)
    return summary
