"""The train job: fine-tune with the chosen hyperparameters (and mitigation weights), export, publish training.completed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import torch

from . import storage
from .args import TrainArgs, under_out_dir
from .checkpoints import CheckpointStore
from .data import example_weights
from .export import write_model_folder
from .logs import now_iso
from .models import resolve
from .runtime import JobContext, attempt_dirs, encode_splits, load_inputs
from .tracking import Tracker, run_name
from .train_loop import EpochResult, FitConfig, fit


def checkpoint_key(args: TrainArgs, model_name: str, fingerprint: str) -> str:
    """Everything that makes two trainings the same work; a checkpoint of other work is never resumed."""
    work = {
        "model": model_name,
        "params": args.params.to_json(),
        "mitigation": args.mitigation.to_json() if args.mitigation else None,
        "data": fingerprint,
        "seed": args.seed,
        "maxLength": args.max_length,
        "useSideFeatures": args.use_side_features,
        "warmupRatio": args.warmup_ratio,
        "maxGradNorm": args.max_grad_norm,
        "patience": args.early_stopping_patience,
    }
    return hashlib.sha256(json.dumps(work, sort_keys=True).encode()).hexdigest()


def run_train(args: TrainArgs, ctx: JobContext) -> dict[str, Any]:
    log, p = ctx.log, args.params
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
    resume = store.load()
    source = resolve(model_name, args.max_length, inputs.train_texts, resume.get("tokenizer") if resume else None)
    store.extra["tokenizer"] = source.tokenizer.to_str()
    weights = example_weights(inputs.train, args.mitigation)
    if args.mitigation:
        log.info("bias mitigation: reweighting slices", reweighted=sum(w > 1 for w in weights), slices=len(args.mitigation.slices))
    train_data, validation_data = encode_splits(source, inputs, weights)
    n_features = len(inputs.train[0].features) if args.use_side_features else 0
    model = source.new_classifier(args.seed, n_features, p.dropout)
    cfg = FitConfig(
        batch_size=p.batch_size,
        epochs=p.epochs,
        learning_rate=p.learning_rate,
        weight_decay=p.weight_decay,
        warmup_ratio=args.warmup_ratio,
        max_grad_norm=args.max_grad_norm,
        patience=args.early_stopping_patience,
        seed=args.seed,
        use_features=args.use_side_features,
        pad_id=source.pad_id,
        class_weights=inputs.class_weights,
    )
    tracker = Tracker(log, args.run_id, "train", args.attempt)
    tracker.start(run_name(p), {**p.to_json(), "baseModel": model_name, "maxLength": args.max_length, "mitigation": bool(args.mitigation)})

    def on_epoch(r: EpochResult) -> None:
        log.info(f"epoch {r.epoch}/{r.epochs}", trainLoss=r.train_loss, examplesPerSecond=r.examples_per_second, **r.validation)
        tracker.metrics({"train_loss": r.train_loss, "examples_per_second": r.examples_per_second, **r.validation}, step=r.epoch)
        ctx.events.progress("epoch", r.epoch, r.epochs, f"validation weighted F1 {r.validation['weightedF1']:.4f}", r.validation)

    result = fit(model, train_data, validation_data, cfg, ctx.device, checkpoints=store, on_epoch=on_epoch, resume=resume)
    log.info("training finished", bestEpoch=result.best_epoch, epochsRun=result.epochs_run, stoppedEarly=result.stopped_early, **result.best)

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
    written = write_model_folder(folder, model, source.tokenizer, source.pad_id, args.use_side_features, validation_data, inputs.validation_texts, metadata)
    log.info("export parity holds", **written["parity"])
    storage.upload_dir(folder, model_dir)
    report = {"history": result.history, "bestEpoch": result.best_epoch, "resumedFrom": result.resumed_from, "modelDir": model_dir, "device": ctx.device.type, "threads": torch.get_num_threads()}
    storage.write_text(storage.join(args.out_dir, "training.json"), json.dumps(report, indent=2) + "\n")
    tracker.artifacts(folder, "model")
    tracker.end()
    data = {
        "modelDir": model_dir,
        "params": p.to_json(),
        "validation": result.best,
        "epochsRun": result.epochs_run,
        "mitigation": args.mitigation.to_json() if args.mitigation else None,
    }
    ctx.events.emit("training.completed", data)
    return data
