"""The tune job: an Optuna study (seeded TPE, median pruner on per-epoch validation weighted F1) stored in the run folder.

The objective is the best validation weighted F1 of a trial (never the test split). The study database is copied to
`<outDir>/study.db` after every trial. A restarted job resumes: it starts from this attempt's study, or the newest
earlier attempt's, and runs trials until the round has `search.trials` finished trials. A retune (an earlier round
finished) continues the same search with `search.trials` more trials, so TPE builds on what it has learned.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from . import storage
from .args import HyperParams, Range, SearchSpace, TuneArgs
from .batching import Encoded
from .logs import Logger
from .models import ModelSource, resolve
from .runtime import Inputs, JobContext, attempt_dirs, encode_splits, load_inputs
from .tracking import Tracker, run_name
from .train_loop import EpochResult, FitConfig, fit

STUDY = "study.db"
SUMMARY = "tuning.json"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _float(trial: Trial, name: str, r: Range) -> float:
    return trial.suggest_float(name, r.low, r.high, log=r.log and r.low > 0)


def suggest(trial: Trial, space: SearchSpace) -> HyperParams:
    return HyperParams(
        model_family=str(trial.suggest_categorical("model_family", list(space.model_families))),
        learning_rate=_float(trial, "learning_rate", space.learning_rate),
        batch_size=int(trial.suggest_categorical("batch_size", list(space.batch_sizes))),
        epochs=trial.suggest_int("epochs", space.epochs.low, space.epochs.high),
        weight_decay=_float(trial, "weight_decay", space.weight_decay),
        dropout=_float(trial, "dropout", space.dropout),
    )


def params_of(trial: FrozenTrial) -> HyperParams:
    p = trial.params
    return HyperParams(p["model_family"], float(p["learning_rate"]), int(p["batch_size"]), int(p["epochs"]), float(p["weight_decay"]), float(p["dropout"]))


def pruner(trials: int) -> optuna.pruners.MedianPruner:
    """Prunes a trial whose epoch score is below the median of finished trials at that epoch, from the first epoch on;
    a few trials always run to the end first (one in a three-trial study)."""
    return optuna.pruners.MedianPruner(n_startup_trials=max(1, min(5, trials // 4)), n_warmup_steps=0, interval_steps=1)


class _Prior:
    """What earlier runs of this step left: a study to continue and how many of its trials belong to finished rounds."""

    def __init__(self, trials: list[FrozenTrial], finished_rounds_trials: int, unfinished: list[dict[str, Any]], source: str | None) -> None:
        self.trials, self.base, self.unfinished, self.source = trials, finished_rounds_trials, unfinished, source


def _read_prior(args: TuneArgs, ctx: JobContext) -> _Prior:
    own = args.out_dir
    folders = [own, *attempt_dirs(args, "tune")]
    base = 0
    own_summary = storage.join(own, SUMMARY)
    if storage.exists(own_summary):
        # This very attempt already finished (a redelivered launch): its target is what it reached.
        base = int(json.loads(storage.read_text(own_summary))["studyTrials"]) - args.search.trials
    else:
        for folder in folders[1:]:
            summary = storage.join(folder, SUMMARY)
            if storage.exists(summary):
                base = int(json.loads(storage.read_text(summary))["studyTrials"])
                break
    for folder in folders:
        uri = storage.join(folder, STUDY)
        if not storage.exists(uri):
            continue
        local = ctx.work / f"prior-{len(list(ctx.work.glob('prior-*')))}.db"
        storage.download_file(uri, local)
        old = optuna.load_study(study_name="tune", storage=f"sqlite:///{local}")
        finished = [t for t in old.trials if t.state in FINISHED]
        unfinished = [t.params for t in old.trials if t.state not in FINISHED and t.params]
        ctx.log.info("resuming the study", source=uri, finishedTrials=len(finished), interrupted=len(unfinished))
        return _Prior(finished, base, unfinished, uri)
    return _Prior([], base, [], None)


def _trials_table(study: optuna.Study) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "state", "value", "model_family", "learning_rate", "batch_size", "epochs", "weight_decay", "dropout", "epochs_run", "seconds"])
    for t in study.trials:
        p = t.params
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start else ""
        writer.writerow([t.number, t.state.name, "" if t.value is None else t.value, *(p.get(k, "") for k in ("model_family", "learning_rate", "batch_size", "epochs", "weight_decay", "dropout")), len(t.intermediate_values), seconds])
    return out.getvalue()


class _Objective:
    def __init__(self, args: TuneArgs, ctx: JobContext, inputs: Inputs, tracker: Tracker) -> None:
        self.args, self.ctx, self.inputs, self.tracker = args, ctx, inputs, tracker
        self.sources: dict[str, tuple[ModelSource, Encoded, Encoded]] = {}

    def _source(self, family: str) -> tuple[ModelSource, Encoded, Encoded]:
        name = self.args.models[family]
        if name not in self.sources:
            source = resolve(name, self.args.max_length, self.inputs.train_texts)
            self.sources[name] = (source, *encode_splits(source, self.inputs))
        return self.sources[name]

    def __call__(self, trial: Trial) -> float:
        args, log = self.args, self.ctx.log
        params = suggest(trial, args.search)
        source, train_data, validation_data = self._source(params.model_family)
        n_features = len(self.inputs.train[0].features) if args.use_side_features else 0
        model = source.new_classifier(args.seed, n_features, params.dropout)
        cfg = FitConfig(
            batch_size=params.batch_size,
            epochs=params.epochs,
            learning_rate=params.learning_rate,
            weight_decay=params.weight_decay,
            warmup_ratio=args.warmup_ratio,
            max_grad_norm=args.max_grad_norm,
            patience=args.early_stopping_patience,
            seed=args.seed,
            use_features=args.use_side_features,
            pad_id=source.pad_id,
            class_weights=self.inputs.class_weights,
        )
        self.tracker.start(run_name(params), {**params.to_json(), "baseModel": args.models[params.model_family], "trial": trial.number}, {"trial": str(trial.number)})

        def on_epoch(r: EpochResult) -> None:
            self.tracker.metrics({"train_loss": r.train_loss, **r.validation}, step=r.epoch)
            trial.report(r.validation["weightedF1"], r.epoch)
            # Pruning after the last epoch would save nothing and discard a finished result.
            if r.epoch < r.epochs and trial.should_prune():
                log.info(f"trial {trial.number} pruned after epoch {r.epoch}", weightedF1=r.validation["weightedF1"])
                raise optuna.TrialPruned()

        try:
            result = fit(model, train_data, validation_data, cfg, self.ctx.device, on_epoch=on_epoch)
        except optuna.TrialPruned:
            self.tracker.end("KILLED")
            raise
        except Exception:
            self.tracker.end("FAILED")
            raise
        self.tracker.end()
        trial.set_user_attr("bestEpoch", result.best_epoch)
        trial.set_user_attr("validation", result.best)
        return result.best["weightedF1"]


def run_tune(args: TuneArgs, ctx: JobContext) -> dict[str, Any]:
    log: Logger = ctx.log
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    inputs = load_inputs(args, log)
    prior = _read_prior(args, ctx)
    target = prior.base + args.search.trials
    local = ctx.work / STUDY
    local.unlink(missing_ok=True)
    # A resumed study gets a new seed, so its random start-up trials do not repeat the ones it already has.
    startup = max(2, min(10, args.search.trials // 2))
    sampler = optuna.samplers.TPESampler(seed=args.seed + len(prior.trials), n_startup_trials=startup)
    study = optuna.create_study(study_name="tune", storage=f"sqlite:///{local}", direction="maximize", sampler=sampler, pruner=pruner(args.search.trials))
    study.set_user_attr("runId", args.run_id)
    study.add_trials(prior.trials)
    for params in prior.unfinished[: max(0, target - len(prior.trials))]:
        study.enqueue_trial(params, skip_if_exists=True)
    study_uri = storage.join(args.out_dir, STUDY)
    tracker = Tracker(log, args.run_id, "tune", args.attempt)
    objective = _Objective(args, ctx, inputs, tracker)

    def finished() -> int:
        return sum(t.state in FINISHED for t in study.trials)

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        storage.upload_file(local, study_uri)
        storage.write_text(storage.join(args.out_dir, "trials.csv"), _trials_table(study))
        done = finished()
        log.info(f"trial {trial.number} {trial.state.name.lower()}", value=trial.value, params=trial.params, finished=done, target=target)
        ctx.events.progress("trial", done, target, f"trial {trial.number} {trial.state.name.lower()}", {"weightedF1": trial.value} if trial.value is not None else None)
        if done >= target:
            study.stop()

    storage.upload_file(local, study_uri)
    if finished() < target:
        study.optimize(objective, n_trials=10 * target, callbacks=[after_trial], catch=())
    completed = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not completed:
        raise RuntimeError(f"no tuning trial completed (of {len(study.trials)}): nothing to choose from")
    best = study.best_trial
    data = {
        "outDir": args.out_dir,
        "studyUri": study_uri,
        "trials": finished(),
        "completedTrials": len(completed),
        "prunedTrials": sum(t.state == TrialState.PRUNED for t in study.trials),
        "bestParams": params_of(best).to_json(),
        "bestValue": float(best.value if best.value is not None else 0.0),
    }
    storage.write_text(storage.join(args.out_dir, "trials.csv"), _trials_table(study))
    summary = {**data, "studyTrials": finished(), "bestTrial": best.number, "bestValidation": best.user_attrs.get("validation"), "resumedFrom": prior.source}
    storage.write_text(storage.join(args.out_dir, SUMMARY), json.dumps(summary, indent=2) + "\n")
    log.info("tuning finished", bestValue=data["bestValue"], bestParams=data["bestParams"], trials=data["trials"], pruned=data["prunedTrials"])
    ctx.events.emit("tuning.completed", data)
    return data
