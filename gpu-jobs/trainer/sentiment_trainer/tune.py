"""The tune job: an Optuna study (seeded TPE, successive halving on validation weighted F1 every half epoch) stored in the
run folder, within a time budget (`search.timeBudget`).

The objective is the best validation weighted F1 of a trial (never the test split). Families that name the same model
are one choice, not a dimension. The first trial of a new study is a sensible default point of the space (TPE's random
start-up rarely lands on a good learning rate for a small budget); a bad trial is pruned after half an epoch. The best
completed trial's checkpoint is kept (`best-trial/`), so the train job, given the same work, need not train it again. The study database is copied to
`<outDir>/study.db` after every trial. A restarted job resumes: it starts from this attempt's study, or the newest
earlier attempt's, and runs trials until the round has `search.trials` finished trials. A retune (an earlier round
finished) continues the same search with `search.trials` more trials, so TPE builds on what it has learned.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any

import optuna
import torch
from optuna.trial import FrozenTrial, Trial, TrialState

from . import storage
from .args import HyperParams, Range, SearchSpace, TuneArgs
from .batching import Encoded
from .checkpoints import FILE as CHECKPOINT_FILE
from .checkpoints import CheckpointStore, work_key
from .errors import Interrupted
from .logs import Logger
from .models import ModelSource, resolve
from .progress import BatchProgress, duration
from .runtime import Inputs, JobContext, attempt_dirs, encode_splits, load_inputs
from .tracking import Tracker, run_name, val_metrics
from .train_loop import BatchInfo, EpochResult, evaluate, fit, fit_config

STUDY = "study.db"
SUMMARY = "tuning.json"
BEST_TRIAL = "best-trial"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: Validation probes per epoch: the pruner's unit of work is half an epoch.
PROBES_PER_EPOCH = 2


def distinct_families(search: SearchSpace, models: dict[str, str]) -> list[str]:
    """The search's families, one per model they name (`--model minilm` maps both families to the same weights)."""
    seen: dict[str, str] = {}
    for family in search.model_families:
        seen.setdefault(models[family], family)
    return list(seen.values())


def default_point(space: SearchSpace, family: str) -> dict[str, Any]:
    """A fine-tuning setting known to work for these encoders, clipped into the space: the study's first trial."""

    def clip(value: float, r: Range) -> float:
        return min(max(value, r.low), r.high)

    return {
        "model_family": family,
        "learning_rate": clip(1e-4, space.learning_rate),
        "batch_size": min(space.batch_sizes),
        "epochs": space.epochs.low,
        "weight_decay": clip(0.01, space.weight_decay),
        "dropout": clip(0.1, space.dropout),
    }


def _float(trial: Trial, name: str, r: Range) -> float:
    return trial.suggest_float(name, r.low, r.high, log=r.log and r.low > 0)


def suggest(trial: Trial, space: SearchSpace, families: list[str] | None = None) -> HyperParams:
    return HyperParams(
        model_family=str(trial.suggest_categorical("model_family", families or list(space.model_families))),
        learning_rate=_float(trial, "learning_rate", space.learning_rate),
        batch_size=int(trial.suggest_categorical("batch_size", list(space.batch_sizes))),
        epochs=trial.suggest_int("epochs", space.epochs.low, space.epochs.high),
        weight_decay=_float(trial, "weight_decay", space.weight_decay),
        dropout=_float(trial, "dropout", space.dropout),
    )


def params_of(trial: FrozenTrial) -> HyperParams:
    p = trial.params
    return HyperParams(p["model_family"], float(p["learning_rate"]), int(p["batch_size"]), int(p["epochs"]), float(p["weight_decay"]), float(p["dropout"]))


def pruner() -> optuna.pruners.BasePruner:
    """Successive halving over half epochs: at half an epoch, 1.5 and 4.5 epochs a trial goes on only while it is
    among the best third of the trials that reached that point (the best one when fewer than three did)."""
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=0)


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
    writer.writerow(["trial", "state", "value", "model_family", "learning_rate", "batch_size", "epochs", "weight_decay", "dropout", "epochs_run", "seconds"])
    for t in study.trials:
        p = t.params
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start else ""
        writer.writerow([t.number + 1, t.state.name, "" if t.value is None else t.value, *(p.get(k, "") for k in ("model_family", "learning_rate", "batch_size", "epochs", "weight_decay", "dropout")), len(t.intermediate_values), seconds])
    return out.getvalue()


class _MemoryCheckpoints(CheckpointStore):
    """A trial's newest checkpoint, kept in memory: only the best completed trial's is written to the run folder."""

    latest: bytes | None = None

    def save(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save({**state, **self.extra, "key": self.key}, buffer)
        self.latest = buffer.getvalue()


class _Budget:
    """The study's clock: when it started, when it must end, and the speed measured so far."""

    def __init__(self, seconds: int, target: int, done: int) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + seconds if seconds > 0 else None
        self.target, self.done = target, done
        self.seconds_per_example: float | None = None

    def left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def over(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


class _Objective:
    def __init__(
        self,
        args: TuneArgs,
        ctx: JobContext,
        inputs: Inputs,
        tracker: Tracker,
        budget: _Budget,
        families: list[str],
        best_uri: str,
        on_epoch_value: Callable[[float, int], None] | None = None,
        label: str | None = None,
        trial_id: str | None = None,
    ) -> None:
        self.args, self.ctx, self.inputs, self.tracker, self.budget = args, ctx, inputs, tracker, budget
        self.families, self.best_uri = families, best_uri
        # A Vertex AI trial (trial.py) reports each epoch's validation weighted F1 through the hypertune file.
        self.on_epoch_value, self.label = on_epoch_value, label
        # A Vertex AI trial is a one-trial study of its own: MLflow names it by Vertex's trial id, not "1".
        self.trial_id = trial_id
        self.sources: dict[str, tuple[ModelSource, Encoded, Encoded]] = {}
        self.progress = BatchProgress(ctx.events)
        self.announced = False
        self.best_value: float | None = None

    def _source(self, family: str) -> tuple[ModelSource, Encoded, Encoded]:
        name = self.args.models[family]
        if name not in self.sources:
            source = resolve(name, self.args.max_length, self.inputs.train_texts)
            self.sources[name] = (source, *encode_splits(source, self.inputs))
        return self.sources[name]

    def _completed(self, study: optuna.Study) -> int:
        return sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))

    def _announce(self, spb: float, params: HyperParams, batches: int) -> None:
        """Once, from the first measured steps: what a trial costs and what the budget allows."""
        self.announced = True
        full = spb * batches * params.epochs * (1 + PROBES_PER_EPOCH * self._validation_share())
        left = self.budget.left()
        allows = f"; the {duration(self.args.search.time_budget)} budget allows about {max(1, int((left or 0) // full) + 1)} such trials (pruned ones cost less)" if left is not None else ""
        message = f"measured {params.batch_size / spb:.1f} examples/s: a full trial of {params.epochs} epochs takes about {duration(full)}{allows}"
        self.ctx.log.info(message)
        self.ctx.events.progress("trial", self.budget.done, self.budget.target, message)

    def _validation_share(self) -> float:
        """One validation pass in training epochs: its rows over the training rows, a forward pass costing about a third
        of a training step."""
        return len(self.inputs.validation) / max(1, len(self.inputs.train)) / 3

    def _eta(self, info: BatchInfo, spb: float, params: HyperParams, study: optuna.Study) -> float:
        """Seconds left for the whole tuning: this trial's rest, then the trials still to run, within the budget."""
        with_validation = 1 + PROBES_PER_EPOCH * self._validation_share()
        trial_left = spb * ((info.epochs - info.epoch) * info.batches + info.batches - info.batch) * with_validation
        later = max(0, self.budget.target - self.budget.done - 1) * spb * info.batches * params.epochs * with_validation
        eta = trial_left + later
        left = self.budget.left()
        if left is None:
            return eta
        # A trial in progress when the budget ends stops then (pruned, or, when it is the first, validated and kept).
        validation = 0.0 if self._completed(study) else spb * info.batches * self._validation_share()
        return min(eta, left + validation)

    def __call__(self, trial: Trial) -> float:
        args, log = self.args, self.ctx.log
        params = suggest(trial, args.search, self.families)
        source, train_data, validation_data = self._source(params.model_family)
        model_name = args.models[params.model_family]
        n_features = len(self.inputs.train[0].features) if args.use_side_features else 0
        model = source.new_classifier(args.seed, n_features, params.dropout)
        cfg = fit_config(params, args, source.pad_id, self.inputs.class_weights)
        label = self.label or f"trial {trial.number + 1} of {self.budget.target}"
        store = _MemoryCheckpoints(dir_uri=self.best_uri, key=work_key(args, model_name, params, None, self.inputs.fingerprint), log=log)
        store.extra["tokenizer"] = source.tokenizer.to_str()
        number = self.trial_id or str(trial.number + 1)
        self.tracker.start(run_name(params, model_name), {**params.to_json(), "baseModel": model_name, "trial": number}, {"trial": number}, family=params.model_family)
        study = trial.study
        probe_at: set[int] = set()

        def prune(reason: str, score: float | None) -> None:
            log.info(f"{label} pruned: {reason}", weightedF1=score)
            trial.set_user_attr("prunedBecause", reason)
            raise optuna.TrialPruned(reason)

        def on_batch(info: BatchInfo) -> None:
            spb = BatchProgress.seconds_per_batch(info)
            if spb is not None and not self.announced:
                self._announce(spb, params, info.batches)
            if not probe_at:
                probe_at.update(round(info.batches * k / PROBES_PER_EPOCH) for k in range(1, PROBES_PER_EPOCH))
            if self.budget.over() and self._completed(study):
                prune("the study's time budget ran out", None)
            self.progress.batch(info, f"{label}: ", None if spb is None else self._eta(info, spb, params, study))
            if info.batch in probe_at:
                step = (info.epoch - 1) * PROBES_PER_EPOCH + sorted(probe_at).index(info.batch) + 1
                score = evaluate(model, validation_data, cfg.pad_id, self.ctx.device, cfg.use_features)["weightedF1"]
                self.tracker.metrics({"val_weighted_f1": score}, step=step)
                trial.report(score, step)
                if trial.should_prune():
                    prune(f"validation weighted F1 {score:.4f} after {step / PROBES_PER_EPOCH:g} epochs is not among the best", score)

        def on_epoch(r: EpochResult) -> None:
            self.tracker.metrics({"train_loss": r.train_loss, **val_metrics(r.validation)}, step=r.epoch * PROBES_PER_EPOCH)
            trial.report(r.validation["weightedF1"], r.epoch * PROBES_PER_EPOCH)
            if self.on_epoch_value is not None:
                self.on_epoch_value(r.validation["weightedF1"], r.epoch)
            log.info(f"{label}: epoch {r.epoch}/{r.epochs}", **r.validation)
            # Pruning after the last epoch would save nothing and discard a finished result.
            if r.epoch < r.epochs and trial.should_prune():
                prune(f"validation weighted F1 {r.validation['weightedF1']:.4f} after {r.epoch} epochs is not among the best", r.validation["weightedF1"])

        def should_stop() -> bool:
            # Only the trial that must complete gets here after the deadline (on_batch prunes any other).
            if self.budget.over():
                log.info(f"{label}: the study's time budget ran out; the trial ends here, its best validation checkpoint kept")
                trial.set_user_attr("stoppedByBudget", True)
                return True
            return False

        try:
            result = fit(model, train_data, validation_data, cfg, self.ctx.device, checkpoints=store, on_epoch=on_epoch, on_batch=on_batch, should_stop=should_stop)
        except optuna.TrialPruned:
            self.tracker.end("KILLED")
            raise
        except Interrupted:
            self.tracker.end("KILLED")
            raise
        except BaseException:
            self.tracker.end("FAILED")
            raise
        # As in training: the trial's val_* values are its best epoch's (the checkpoint it keeps), logged last.
        self.tracker.metrics({**val_metrics(result.best), "best_epoch": result.best_epoch}, step=(result.epochs_run + 1) * PROBES_PER_EPOCH)
        self.tracker.end()
        trial.set_user_attr("bestEpoch", result.best_epoch)
        trial.set_user_attr("epochsRun", result.epochs_run)
        trial.set_user_attr("validation", result.best)
        value = result.best["weightedF1"]
        if store.latest is not None and (self.best_value is None or value > self.best_value):
            # The train job resumes this when it is given the same work: it need not train the best trial again.
            storage.write_bytes(storage.join(self.best_uri, CHECKPOINT_FILE), store.latest)
            self.best_value = value
            trial.set_user_attr("checkpoint", storage.join(self.best_uri, CHECKPOINT_FILE))
        return value


def run_tune(args: TuneArgs, ctx: JobContext) -> dict[str, Any]:
    log: Logger = ctx.log
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    inputs = load_inputs(args, log)
    prior = _read_prior(args, ctx)
    target = prior.base + args.search.trials
    families = distinct_families(args.search, args.models)
    if len(families) < len(args.search.model_families):
        log.info(f"model families {', '.join(args.search.model_families)} name {len(families)} distinct model(s): searching {', '.join(families)} only", models=args.models)
    local = ctx.work / STUDY
    local.unlink(missing_ok=True)
    # A resumed study gets a new seed, so its random start-up trials do not repeat the ones it already has.
    startup = max(2, min(10, args.search.trials // 2))
    sampler = optuna.samplers.TPESampler(seed=args.seed + len(prior.trials), n_startup_trials=startup)
    study = optuna.create_study(study_name="tune", storage=f"sqlite:///{local}", direction="maximize", sampler=sampler, pruner=pruner())
    study.set_user_attr("runId", args.run_id)
    study.add_trials(prior.trials)
    for params in prior.unfinished[: max(0, target - len(prior.trials))]:
        study.enqueue_trial(params, skip_if_exists=True)
    if not prior.trials and not prior.unfinished:
        study.enqueue_trial(default_point(args.search, families[0]))
    study_uri = storage.join(args.out_dir, STUDY)
    tracker = Tracker(log, args.run_id, "tune", args.attempt)

    def finished() -> int:
        return sum(t.state in FINISHED for t in study.trials)

    budget = _Budget(args.search.time_budget, target, finished())
    objective = _Objective(args, ctx, inputs, tracker, budget, families, storage.join(args.out_dir, BEST_TRIAL))

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        storage.upload_file(local, study_uri)
        storage.write_text(storage.join(args.out_dir, "trials.csv"), _trials_table(study))
        done = budget.done = finished()
        state = trial.state.name.lower()
        log.info(f"trial {trial.number + 1} {state}", value=trial.value, params=trial.params, finished=done, target=target)
        ctx.events.progress("trial", done, target, f"trial {trial.number + 1} {state}", {"weightedF1": trial.value} if trial.value is not None else None)
        if done >= target or (budget.over() and any(t.state == TrialState.COMPLETE for t in study.trials)):
            study.stop()

    storage.upload_file(local, study_uri)
    if finished() < target:
        plan = f"tuning: up to {target - finished()} trial(s) of {', '.join(args.models[f] for f in families)}"
        plan += f" within {duration(args.search.time_budget)}" if args.search.time_budget else " (no time budget)"
        plan += f", pruned at half an epoch when not among the best; {args.search.epochs.low}-{args.search.epochs.high} epochs each"
        log.info(plan)
        ctx.events.progress("trial", finished(), target, plan)
        # Optuna's timeout stops new trials; the objective stops a running one at the same deadline.
        timeout = args.search.time_budget or None
        study.optimize(objective, n_trials=10 * target, timeout=timeout, callbacks=[after_trial], catch=())
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
        "baseModel": args.models[params_of(best).model_family],
    }
    storage.write_text(storage.join(args.out_dir, "trials.csv"), _trials_table(study))
    summary = {
        **data,
        "studyTrials": finished(),
        "bestTrial": best.number + 1,
        "bestValidation": best.user_attrs.get("validation"),
        "bestCheckpoint": best.user_attrs.get("checkpoint"),
        "timeBudget": args.search.time_budget,
        "seconds": round(time.monotonic() - budget.started, 1),
        "families": families,
        "models": {f: args.models[f] for f in families},
        "resumedFrom": prior.source,
    }
    storage.write_text(storage.join(args.out_dir, SUMMARY), json.dumps(summary, indent=2) + "\n")
    log.info("tuning finished", bestValue=data["bestValue"], bestParams=data["bestParams"], trials=data["trials"], pruned=data["prunedTrials"])
    ctx.events.emit("tuning.completed", data)
    return data
