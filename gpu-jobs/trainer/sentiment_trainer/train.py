"""The train job: fine-tune with the chosen hyperparameters (and mitigation weights), export, publish training.completed.

Under data parallelism every rank reads the same data and checkpoint and trains its share; only rank 0 saves
checkpoints, tracks, exports and publishes (the others' events go nowhere, see cli.py)."""

from __future__ import annotations

import io
import os
import json
from typing import Any

import torch

from . import storage
from .args import TrainArgs, under_out_dir
from .checkpoints import CheckpointStore, work_key
from .data import example_weights
from .distributed import agree
from .errors import Interrupted
from .export import write_model_folder
from .logs import Logger, now_iso
from .models import resolve
from .progress import BatchProgress
from .runtime import LOOK_BACK, JobContext, attempt_dirs, encode_splits, load_inputs
from .tracking import Tracker, run_name, val_metrics
from .train_loop import BatchInfo, EpochResult, fit, fit_config

TUNING_SUMMARY = "tuning.json"


def checkpoint_key(args: TrainArgs, model_name: str, fingerprint: str) -> str:
    """Everything that makes two trainings the same work; a checkpoint of other work is never resumed."""
    return work_key(args, model_name, args.params, args.mitigation, fingerprint)


def tuned_checkpoint(args: TrainArgs, key: str, log: Logger) -> dict[str, Any] | None:
    """The newest tune attempt's best-trial checkpoint, when it is this very work (same hyperparameters, data, seed, no
    mitigation): the trial already trained this model, so training resumes from where the trial ended."""
    if args.mitigation is not None:
        return None
    # SP_REUSE_TUNED_CHECKPOINT=0 trains from scratch (or from this step's own checkpoints) even when a trial did
    # this very work: the end-to-end suite needs a training to interrupt, and a user may want a fresh one.
    if os.environ.get("SP_REUSE_TUNED_CHECKPOINT", "1") == "0":
        return None
    tuning: str | None = None
    for k in range(1, LOOK_BACK + 1):
        summary = f"{args.run_dir.rstrip('/')}/tune/a{k}/{TUNING_SUMMARY}"
        if not storage.exists(summary):
            break
        tuning = summary
    if tuning is None:
        return None
    uri = json.loads(storage.read_text(tuning)).get("bestCheckpoint")
    if not uri or not storage.exists(uri):
        return None
    try:
        state = torch.load(io.BytesIO(storage.read_bytes(uri)), map_location="cpu", weights_only=True)
    except Exception as err:  # a torn or foreign file: train instead
        log.warn(f"ignoring the tuned checkpoint {uri}: {err}")
        return None
    if state.get("key") != key:
        return None
    log.info(f"training resumes the best tuning trial's checkpoint {uri}", checkpointEpoch=state["epoch"], finished=bool(state.get("finished")))
    return dict(state)


def run_train(args: TrainArgs, ctx: JobContext) -> dict[str, Any]:
    log, p, group = ctx.log, args.params, ctx.group
    inputs = load_inputs(args, log)
    model_name = args.models[p.model_family]
    model_dir = under_out_dir(args, ctx.env, "AIP_MODEL_DIR", storage.join(args.out_dir, "model"))
    checkpoint_dir = under_out_dir(args, ctx.env, "AIP_CHECKPOINT_DIR", storage.join(args.out_dir, "checkpoints"))
    store = CheckpointStore(
        dir_uri=checkpoint_dir,
        key=checkpoint_key(args, model_name, inputs.fingerprint),
        log=log,
        fallbacks=tuple(storage.join(d, "checkpoints") for d in attempt_dirs(args, "train")),
    )
    resume = store.load() or tuned_checkpoint(args, store.key, log)
    source = resolve(model_name, args.max_length, inputs.train_texts, resume.get("tokenizer") if resume else None)
    store.extra["tokenizer"] = source.tokenizer.to_str()
    # The tiny model's tokenizer is learned from the data: deterministic, but a rank that learned another would train
    # on other ids without any error showing.
    agree(group, "the tokenizer", store.extra["tokenizer"])
    weights = example_weights(inputs.train, args.mitigation)
    if args.mitigation:
        log.info("bias mitigation: reweighting slices", reweighted=sum(w > 1 for w in weights), slices=len(args.mitigation.slices))
    train_data, validation_data = encode_splits(source, inputs, weights)
    n_features = len(inputs.train[0].features) if args.use_side_features else 0
    model = source.new_classifier(args.seed, n_features, p.dropout)
    cfg = fit_config(p, args, source.pad_id, inputs.class_weights)
    tracker = Tracker(log, args.run_id, "train", args.attempt)
    if group.active:
        log.info("data-parallel training", rank=group.rank, world=group.world, globalBatch=p.batch_size)
    if not group.chief:
        fit(model, train_data, validation_data, cfg, ctx.device, resume=resume, group=group)
        log.info("training finished on this rank; rank 0 exports and publishes")
        return {}
    # Named for what it is (the trial it may resume is in its `config` tag and params), so that retrains sort together.
    tracker.start(
        f"training-a{args.attempt}",
        {**p.to_json(), "baseModel": model_name, "maxLength": args.max_length, "mitigation": bool(args.mitigation)},
        {"config": run_name(p, model_name)},
        family=p.model_family,
    )
    progress = BatchProgress(ctx.events)

    def on_batch(info: BatchInfo) -> None:
        spb = BatchProgress.seconds_per_batch(info)
        # The rest of this epoch and the epochs after it, each with a validation pass (its rows at a third of the cost).
        val = info.batches * len(inputs.validation) / max(1, len(inputs.train)) / 3
        eta = None if spb is None else spb * ((info.epochs - info.epoch) * (info.batches + val) + (info.batches - info.batch) + val)
        progress.batch(info, "training: ", eta)

    def on_epoch(r: EpochResult) -> None:
        log.info(f"epoch {r.epoch}/{r.epochs}", trainLoss=r.train_loss, examplesPerSecond=r.examples_per_second, **r.validation)
        tracker.metrics({"train_loss": r.train_loss, "examples_per_second": r.examples_per_second, **val_metrics(r.validation)}, step=r.epoch)
        ctx.events.progress("epoch", r.epoch, r.epochs, f"epoch {r.epoch}/{r.epochs}: validation weighted F1 {r.validation['weightedF1']:.4f}", r.validation)

    try:
        result = fit(model, train_data, validation_data, cfg, ctx.device, checkpoints=store, on_epoch=on_epoch, resume=resume, on_batch=on_batch, group=group)
    except Interrupted:
        tracker.end("KILLED")
        raise
    for h in result.history:
        # Epochs this job resumed rather than ran (a tuning trial's, an earlier attempt's): their metrics belong in this
        # MLflow run too.
        if resume is not None and h["epoch"] <= int(resume["epoch"]):
            scores = {k: v for k, v in h.items() if k not in ("epoch", "trainLoss", "examplesPerSecond")}
            tracker.metrics({"train_loss": h["trainLoss"], "examples_per_second": h["examplesPerSecond"], **val_metrics(scores)}, step=int(h["epoch"]))
    # The exported model is the best epoch's: its scores are logged once more after the last epoch, so that the run's
    # val_* values (MLflow shows the latest step's) are the model's and not the last epoch's, as MLflow's Keras
    # autologging does for early stopping's restored weights; best_epoch says which epoch that is.
    last_epoch = max((int(h["epoch"]) for h in result.history), default=0)
    tracker.metrics({**val_metrics(result.best), "best_epoch": result.best_epoch}, step=last_epoch + 1)
    log.info("training finished", bestEpoch=result.best_epoch, epochsRun=result.epochs_run, stoppedEarly=result.stopped_early, compiledStep=result.compiled_step, **result.best)

    folder = ctx.work / "model"
    metadata = {
        "formatVersion": 1,
        "runId": args.run_id,
        "trainAttempt": args.attempt,
        "family": p.model_family,
        "baseModel": model_name,
        "maxLength": args.max_length,
        "textTemplate": "title + ' ' + text",
        "features": inputs.stats["featureStats"] if args.use_side_features else None,
        "params": p.to_json(),
        "mitigation": args.mitigation.to_json() if args.mitigation else None,
        "dataFingerprint": inputs.fingerprint,
        "validation": result.best,
        "createdAt": now_iso(),
    }
    written = write_model_folder(
        folder, model, source.tokenizer, source.pad_id, args.use_side_features, validation_data, inputs.validation_texts, metadata, args.int8_f1_tolerance
    )
    quantization = written["quantization"]
    log.info("export parity holds", **written["parity"])
    if quantization["served"] == "fp32":
        log.warn(quantization["reason"], tried=quantization["tried"])
    else:
        log.info(f"int8 export served ({quantization['method']})", int8=quantization["int8"], fp32=quantization["fp32"], agreement=quantization["agreement"])
    tracker.params({"servedExport": quantization["served"], "int8Method": quantization["method"], "int8Agreement": quantization["agreement"]})
    tracker.metrics({f"val_{name}_{k}": v for name in ("fp32", "int8") for k, v in quantization[name].items()}, step=0)
    if quantization["reason"]:
        tracker.tags({"quantization": quantization["reason"][:5000]})
    storage.upload_dir(folder, model_dir)
    report = {"history": result.history, "bestEpoch": result.best_epoch, "resumedFrom": result.resumed_from, "modelDir": model_dir, "device": ctx.device.type, "threads": torch.get_num_threads(), "worldSize": group.world}
    storage.write_text(storage.join(args.out_dir, "training.json"), json.dumps(report, indent=2) + "\n")
    tracker.artifacts(folder, "model")
    tracker.end()
    data = {
        "modelDir": model_dir,
        "params": p.to_json(),
        "baseModel": model_name,
        "validation": result.best,
        "epochsRun": result.epochs_run,
        "mitigation": args.mitigation.to_json() if args.mitigation else None,
        "quantization": {"served": quantization["served"], "reason": quantization["reason"]},
    }
    ctx.events.emit("training.completed", data)
    return data
