"""MLflow tracking: one experiment per pipeline run, runs named like the original, and never a failed job because of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Env, input_to_args, synthetic_data, train_input

from sentiment_trainer.args import HyperParams
from sentiment_trainer.cli import main
from sentiment_trainer.tracking import run_name

PARAMS = {"modelFamily": "roberta", "learningRate": 2e-5, "batchSize": 32, "epochs": 2, "weightDecay": 0.01, "dropout": 0.1}


def test_run_names_follow_the_original_pipeline() -> None:
    assert run_name(HyperParams("roberta", 2e-5, 32, 2, 0.01, 0.1)) == "roberta_lr_2e-05_wd_1e-02_do_0.1"


def test_training_is_an_mlflow_run_with_params_epoch_metrics_and_the_model(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # a database store keeps artifacts in ./mlruns
    data = synthetic_data(env, rows=200)
    assert main(input_to_args(train_input(dataDir=data, params=PARAMS))) == 0
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("sentiment-pipeline/run-test-1")
    assert experiment is not None
    [run] = client.search_runs([experiment.experiment_id])
    # Named after the model trained, not the family's config key (both families may name the same model).
    assert run.info.run_name == "tiny_lr_2e-05_wd_1e-02_do_0.1" and run.info.status == "FINISHED"
    assert run.data.params["servedExport"] in ("int8", "fp32")
    assert {k: run.data.tags[k] for k in ("run_id", "step", "attempt")} == {"run_id": "run-test-1", "step": "train", "attempt": "1"}
    assert run.data.params["learningRate"] == "2e-05" and run.data.params["baseModel"] == "tiny"
    history = client.get_metric_history(run.info.run_id, "weightedF1")
    assert [m.step for m in history] == [1, 2]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/model.onnx", "model/tokenizer.json", "model/metadata.json"} <= artifacts
    assert (tmp_path / "mlruns").is_dir()


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
    experiment = client.get_experiment_by_name("sentiment-pipeline/run-test-1")
    assert experiment is not None
    assert [r.info.status for r in client.search_runs([experiment.experiment_id])] == ["KILLED"]
