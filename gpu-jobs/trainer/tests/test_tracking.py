"""MLflow tracking: one experiment per model line, the job's runs nested under the pipeline run's parent run, snake_case
keys, the best epoch's scores on the training run, and never a failed job because of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RUN_DIR, Env, input_to_args, synthetic_data, train_input

from sentiment_trainer.args import HyperParams
from sentiment_trainer.cli import main
from sentiment_trainer.tracking import run_name

PARAMS = {"modelFamily": "roberta", "learningRate": 2e-5, "batchSize": 32, "epochs": 2, "weightDecay": 0.01, "dropout": 0.1}


def test_run_names_follow_the_original_pipeline() -> None:
    assert run_name(HyperParams("roberta", 2e-5, 32, 2, 0.01, 0.1)) == "roberta_lr_2e-05_wd_1e-02_do_0.1"


def test_training_is_a_nested_mlflow_run_in_the_lines_experiment_with_snake_case_keys(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "sentiment-pipeline/tiny-3class")
    monkeypatch.chdir(tmp_path)  # a database store keeps artifacts in ./mlruns
    data = synthetic_data(env, rows=200)
    assert main(input_to_args(train_input(dataDir=data, params=PARAMS))) == 0
    client = MlflowClient(tracking_uri=uri)
    assert client.get_experiment_by_name("sentiment-pipeline/run-test-1") is None
    experiment = client.get_experiment_by_name("sentiment-pipeline/tiny-3class")
    assert experiment is not None
    runs = {r.data.tags["step"]: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"pipeline", "train"}
    parent, run = runs["pipeline"], runs["train"]
    assert parent.info.run_name == "run-test-1" and parent.data.tags["run_id"] == "run-test-1"
    assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    # Named for training; the trial-style name of its parameters is a tag.
    assert run.info.run_name == "training-a1" and run.info.status == "FINISHED"
    assert run.data.tags["config"] == "tiny_lr_2e-05_wd_1e-02_do_0.1"
    assert {k: run.data.tags[k] for k in ("run_id", "step", "attempt")} == {"run_id": "run-test-1", "step": "train", "attempt": "1"}
    assert run.data.params["learning_rate"] == "2e-05" and run.data.params["base_model"] == "tiny"
    assert run.data.params["served_export"] in ("int8", "fp32")
    for k in [*run.data.params, *run.data.metrics]:
        assert k == k.lower() and " " not in k, k
    assert {"val_weighted_f1", "val_macro_f1", "val_accuracy", "train_loss", "best_epoch"} <= set(run.data.metrics)
    # Every epoch's curve, then the exported (best) epoch's scores once more: the run's value is the model's.
    training = json.loads(env.bucket_path(f"{RUN_DIR}/train/a1/training.json").read_text())
    history = client.get_metric_history(run.info.run_id, "val_weighted_f1")
    assert [m.step for m in history] == [1, 2, 3]
    assert [m.value for m in history[:2]] == pytest.approx([h["weightedF1"] for h in training["history"]])
    best = next(h for h in training["history"] if h["epoch"] == training["bestEpoch"])
    assert run.data.metrics["val_weighted_f1"] == pytest.approx(best["weightedF1"])
    assert run.data.metrics["best_epoch"] == training["bestEpoch"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/model.onnx", "model/tokenizer.json", "model/metadata.json"} <= artifacts
    assert (tmp_path / "mlruns").is_dir()


def test_a_second_job_of_the_same_pipeline_run_nests_under_the_same_parent(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    from sentiment_trainer.logs import Logger
    from sentiment_trainer.tracking import Tracker

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "sentiment-pipeline/tiny-3class")
    monkeypatch.chdir(tmp_path)
    for step, attempt in (("tune", 1), ("train", 1), ("train", 2)):
        t = Tracker(Logger(), "run-a", step, attempt, uri=uri)
        t.start(f"{step}-{attempt}", {"learningRate": 1e-5})
        t.end()
    Tracker(Logger(), "run-b", "train", 1, uri=uri).start("other", {})
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("sentiment-pipeline/tiny-3class")
    runs = client.search_runs([experiment.experiment_id])
    parents = {r.data.tags["run_id"]: r.info.run_id for r in runs if r.data.tags["step"] == "pipeline"}
    assert sorted(parents) == ["run-a", "run-b"]
    children = [r for r in runs if r.data.tags["step"] != "pipeline"]
    assert sorted((r.data.tags["run_id"], r.data.tags["mlflow.parentRunId"] == parents[r.data.tags["run_id"]]) for r in children) == [
        ("run-a", True),
        ("run-a", True),
        ("run-a", True),
        ("run-b", True),
    ]


def test_each_familys_runs_go_to_the_experiment_of_its_line_with_a_parent_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search across base models: a bert trial in bert's line's experiment, a roberta trial and the training run (a
    roberta) in roberta's, each under a parent run of the pipeline run in that experiment."""
    from mlflow.tracking import MlflowClient

    from sentiment_trainer.logs import Logger
    from sentiment_trainer.tracking import Tracker, experiment_name

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    lines = {"bert": "sentiment-pipeline/bert-base-uncased-3class", "roberta": "sentiment-pipeline/roberta-base-3class"}
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", lines["bert"])
    monkeypatch.setenv("SP_MLFLOW_EXPERIMENTS", json.dumps(lines))
    monkeypatch.chdir(tmp_path)
    assert experiment_name(family="roberta") == lines["roberta"] and experiment_name(family="xlnet") == lines["bert"]
    assert experiment_name({"SP_MLFLOW_EXPERIMENTS": "not json", "MLFLOW_EXPERIMENT_NAME": "e"}, "bert") == "e"
    tune = Tracker(Logger(), "run-a", "tune", 1, uri=uri)
    for number, family in enumerate(("bert", "roberta", "bert"), start=1):
        tune.start(f"trial-{number}", {"modelFamily": family}, {"trial": str(number)}, family=family)
        tune.end()
    train = Tracker(Logger(), "run-a", "train", 1, uri=uri)
    train.start("training-a1", {"modelFamily": "roberta"}, family="roberta")
    train.end()
    client = MlflowClient(tracking_uri=uri)
    placed: dict[str, list[tuple[str, bool]]] = {}
    for family, name in lines.items():
        experiment = client.get_experiment_by_name(name)
        assert experiment is not None and experiment.tags["model_line"] == name.rsplit("/", 1)[-1]
        runs = client.search_runs([experiment.experiment_id])
        [parent] = [r.info.run_id for r in runs if r.data.tags["step"] == "pipeline"]
        placed[family] = sorted((r.info.run_name, r.data.tags["mlflow.parentRunId"] == parent) for r in runs if r.data.tags["step"] != "pipeline")
    assert placed == {"bert": [("trial-1", True), ("trial-3", True)], "roberta": [("training-a1", True), ("trial-2", True)]}


def test_an_unreachable_tracking_server_only_logs_a_warning(env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    data = synthetic_data(env, rows=200)
    assert main(input_to_args(train_input(dataDir=data, params={**PARAMS, "epochs": 1}))) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    warnings = [x for x in lines if x["severity"] == "WARNING" and "MLflow tracking disabled" in x["message"]]
    assert len(warnings) == 1 and warnings[0]["trackingUri"] == "http://127.0.0.1:9"
    assert len(env.events("training.completed")) == 1


def test_a_stopped_tune_job_ends_its_trial_killed_and_reports_no_failure(env: Env, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import TRAINER, tune_input
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    data = synthetic_data(env, rows=3000)
    search = {**tune_input()["search"], "epochs": {"low": 4, "high": 4}}
    job_env = {**os.environ, "PYTHONPATH": str(TRAINER), "SP_TORCH_THREADS": "1", "MLFLOW_TRACKING_URI": uri}
    proc = subprocess.Popen([sys.executable, "-m", "sentiment_trainer", *input_to_args(tune_input(dataDir=data, search=search))], cwd=tmp_path, env=job_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while not any(e["data"]["unit"] == "batch" for e in env.events("job.progress")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, out
    assert env.events("job.failed") == [] and env.events("tuning.completed") == []
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("sentiment-pipeline")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert sorted((r.data.tags["step"], r.info.status) for r in runs) == [("pipeline", "RUNNING"), ("tune", "KILLED")]
