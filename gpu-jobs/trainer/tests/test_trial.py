"""A Vertex AI tuning trial: its `--name=value` parameters, the hypertune metric file, and one trained trial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RUN_DIR, Env, input_to_args, synthetic_data, tune_input

from sentiment_trainer.args import ArgumentError, SearchSpace, search_space
from sentiment_trainer import trial as trial_module
from sentiment_trainer.cli import EXIT_BAD_INPUT, EXIT_INTERRUPTED, main
from sentiment_trainer.errors import Interrupted
from sentiment_trainer.hypertune import MAX_ENTRIES, METRIC_TAG, Hypertune, read_metrics
from sentiment_trainer.trial import split_argv, trial_params

GOOD = {"model_family": "bert", "learning_rate": "0.001", "batch_size": "32", "epochs": "3", "weight_decay": "0.01", "dropout": "0.1"}


def _space() -> SearchSpace:
    return search_space(tune_input()["search"])


def test_the_metric_file_is_the_cloudml_hypertune_format(tmp_path: Path) -> None:
    path = tmp_path / "hp" / "output.metrics"
    ht = Hypertune({"CLOUD_ML_HP_METRIC_FILE": str(path), "CLOUD_ML_TRIAL_ID": "7"})
    ht.report(0.5, 1)
    ht.report(0.75, 2)
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[1])
    # The library's own line: sorted keys, the value and step as strings, the trial from CLOUD_ML_TRIAL_ID.
    assert list(entry) == sorted(entry) and set(entry) == {"checkpoint_path", "global_step", METRIC_TAG, "timestamp", "trial"}
    assert entry[METRIC_TAG] == "0.75" and entry["global_step"] == "2" and entry["trial"] == "7" and isinstance(entry["timestamp"], float)
    assert read_metrics(path) == [(1, 0.5), (2, 0.75)]


def test_the_metric_file_keeps_the_last_hundred_reports_and_defaults_like_the_library(tmp_path: Path) -> None:
    ht = Hypertune({"CLOUD_ML_HP_METRIC_FILE": str(tmp_path / "m")})
    for step in range(MAX_ENTRIES + 5):
        ht.report(step / 1000, step)
    steps = [s for s, _ in read_metrics(tmp_path / "m")]
    assert steps == list(range(5, MAX_ENTRIES + 5))
    assert json.loads((tmp_path / "m").read_text().splitlines()[0])["trial"] == "0"
    assert str(Hypertune({}).path) == "/tmp/hypertune/output.metrics"


def test_vertex_parameters_are_told_apart_from_the_tune_flags() -> None:
    tune, params = split_argv(["--run-id", "r1", "--learning_rate=0.001", "--search", '{"a": "--x=1"}', "--epochs=3"])
    assert tune == ["--run-id", "r1", "--search", '{"a": "--x=1"}'] and params == {"learning_rate": "0.001", "epochs": "3"}
    with pytest.raises(ArgumentError, match="--epochs given twice"):
        split_argv(["--epochs=3", "--epochs=4"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learning_rate": "1"}, r"--learning_rate=1.0 lies outside the search space"),
        ({"batch_size": "48"}, r"--batch_size=48 is not one of \[32, 64\]"),
        ({"epochs": "3.5"}, r"--epochs=3.5 is not an integer in \[3, 4\]"),
        ({"model_family": "gpt"}, r"--model_family=gpt is not one of bert"),
        ({"dropout": "x"}, r"--dropout must be a number"),
        ({"momentum": "0.9"}, r"unknown parameter --momentum"),
    ],
)
def test_a_parameter_outside_the_search_space_is_refused_by_name(change: dict[str, str], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        trial_params({**GOOD, **change}, _space(), {"bert": "tiny", "roberta": "tiny"})


def test_a_missing_parameter_is_named() -> None:
    raw = {k: v for k, v in GOOD.items() if k != "dropout"}
    with pytest.raises(ArgumentError, match="parameter --dropout is required"):
        trial_params(raw, _space(), {"bert": "tiny", "roberta": "tiny"})


def test_a_trial_trains_reports_each_epoch_and_keeps_its_best_checkpoint(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = tmp_path / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(metrics))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "4")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("SP_MLFLOW_EXPERIMENTS", json.dumps({"bert": "sentiment-pipeline/tiny-3class"}))
    monkeypatch.chdir(tmp_path)  # a database store keeps artifacts in ./mlruns
    uri = synthetic_data(env, rows=400)
    argv = ["trial", *input_to_args(tune_input(dataDir=uri))[1:], *(f"--{k}={v}" for k, v in GOOD.items())]
    assert main(argv) == 0
    # In MLflow the trial is Vertex's trial 4 (each trial is a one-trial study of its own: not "trial 1").
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking)
    experiment = client.get_experiment_by_name("sentiment-pipeline/tiny-3class")
    [run] = [r for r in client.search_runs([experiment.experiment_id]) if r.data.tags["step"] == "tune"]
    assert run.data.tags["trial"] == "4" and run.data.params["trial"] == "4"
    reports = read_metrics(metrics)
    assert [s for s, _ in reports] == [1, 2, 3]
    summary = json.loads(env.bucket_path(f"{RUN_DIR}/tune/a1/trials/4/trial.json").read_text())
    # The trial's result is its best epoch, the one Vertex picks with BEST_MEASUREMENT.
    assert summary["value"] == max(v for _, v in reports) and summary["stopped"] is False
    assert summary["params"] == {"modelFamily": "bert", "learningRate": 0.001, "batchSize": 32, "epochs": 3, "weightDecay": 0.01, "dropout": 0.1}
    assert summary["checkpoint"] == f"{RUN_DIR}/tune/a1/trials/4/best-trial/checkpoint.pt"
    assert env.bucket_path(summary["checkpoint"]).exists()
    # The tune job that submitted the tuning job decides: a trial says nothing to the pipeline.
    assert env.events("tuning.completed") == [] and env.events("job.failed") == []


def test_a_trial_stopped_early_keeps_its_reports_and_says_it_was_stopped(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Vertex's automated stopping (the stand-in's too) sends SIGTERM once it has read a report; the handler raises
    # Interrupted where the trial is. Here it arrives right after the first epoch's report, without timing luck.
    metrics = tmp_path / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(metrics))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "5")
    report = trial_module.Hypertune.report

    def report_then_stop(self: trial_module.Hypertune, value: float, step: int, tag: str = METRIC_TAG) -> None:
        report(self, value, step, tag)
        raise Interrupted("SIGTERM")

    monkeypatch.setattr(trial_module.Hypertune, "report", report_then_stop)
    uri = synthetic_data(env, rows=200)
    argv = ["trial", *input_to_args(tune_input(dataDir=uri))[1:], *(f"--{k}={v}" for k, v in GOOD.items())]
    assert main(argv) == EXIT_INTERRUPTED
    # The measurement Vertex read stands; the summary tells the tune job to count the trial as pruned.
    assert [s for s, _ in read_metrics(metrics)] == [1]
    summary = json.loads(env.bucket_path(f"{RUN_DIR}/tune/a1/trials/5/trial.json").read_text())
    assert summary["stopped"] is True and summary["trialId"] == "5"
    assert env.events("job.failed") == [] and env.events("tuning.completed") == []


def test_a_trial_with_a_bad_parameter_exits_bad_input_without_telling_the_pipeline(env: Env) -> None:
    uri = synthetic_data(env, rows=200)
    argv = ["trial", *input_to_args(tune_input(dataDir=uri))[1:], *(f"--{k}={v}" for k, v in {**GOOD, "batch_size": "7"}.items())]
    assert main(argv) == EXIT_BAD_INPUT
    assert env.events("job.failed") == []
