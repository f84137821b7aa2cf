"""The tune job: a seeded three-trial search that prunes, stored in the run folder, resumable across attempts."""

from __future__ import annotations

import csv
import io
import json
import shutil

import optuna
import pytest
from conftest import RUN_DIR, Env, input_to_args, synthetic_data, tune_input

from sentiment_trainer import contracts
from sentiment_trainer.cli import main


def _study(env: Env, attempt: int) -> optuna.Study:
    return optuna.load_study(study_name="tune", storage=f"sqlite:///{env.bucket_path(f'{RUN_DIR}/tune/a{attempt}/study.db')}")


def test_a_three_trial_study_prunes_and_reports_the_best_validation_params(env: Env) -> None:
    uri = synthetic_data(env, rows=500)
    assert main(input_to_args(tune_input(dataDir=uri))) == 0
    [done] = env.events("tuning.completed")
    contracts.check("event.tuning.completed", done, "event")
    data = done["data"]
    assert data["trials"] == 3 and data["prunedTrials"] >= 1 and data["completedTrials"] + data["prunedTrials"] == 3
    assert data["studyUri"] == f"{RUN_DIR}/tune/a1/study.db" and data["outDir"] == f"{RUN_DIR}/tune/a1"
    study = _study(env, 1)
    best = study.best_trial
    assert data["bestValue"] == best.value and data["bestParams"]["learningRate"] == best.params["learning_rate"]
    assert data["bestParams"]["modelFamily"] in ("bert", "roberta") and 2 <= data["bestParams"]["epochs"] <= 3
    assert data["baseModel"] == tune_input()["models"][data["bestParams"]["modelFamily"]]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert all(len(t.intermediate_values) < t.params["epochs"] for t in pruned)
    rows = list(csv.DictReader(io.StringIO(env.bucket_path(f"{RUN_DIR}/tune/a1/trials.csv").read_text())))
    assert [r["state"] for r in rows] == [t.state.name for t in study.trials]
    progress = [e["data"] for e in env.events("job.progress") if e["data"]["unit"] == "trial"]
    ends = [p for p in progress if p["message"].split(" ")[-1] in ("complete", "pruned")]
    assert [p["current"] for p in ends] == [1, 2, 3] and ends[-1]["total"] == 3
    # Labels count from 1; the plan comes before the first trial.
    assert [p["message"].split(" ")[1] for p in ends] == ["1", "2", "3"] and progress[0]["message"].startswith("tuning: up to 3 trial(s) of tiny")


def test_a_restarted_attempt_resumes_the_study_of_the_failed_one(env: Env) -> None:
    uri = synthetic_data(env, rows=300)
    fast = {**tune_input()["search"], "epochs": {"low": 1, "high": 1}, "trials": 2}
    assert main(input_to_args(tune_input(dataDir=uri, search=fast))) == 0
    # Attempt 1 "fails" before it finished its round: its summary is missing, its study holds two trials.
    env.bucket_path(f"{RUN_DIR}/tune/a1/tuning.json").unlink()
    first = [t.params for t in _study(env, 1).trials]
    env.outbox.unlink()
    assert main(input_to_args(tune_input(dataDir=uri, search=fast, attempt=2))) == 0
    [done] = env.events("tuning.completed")
    assert done["attempt"] == 2 and done["data"]["trials"] == 2
    assert env.events("job.progress") == []  # nothing left to run
    assert [t.params for t in _study(env, 2).trials] == first


def test_a_retune_continues_the_search_with_more_trials(env: Env) -> None:
    uri = synthetic_data(env, rows=300)
    fast = {**tune_input()["search"], "epochs": {"low": 1, "high": 1}, "trials": 2}
    assert main(input_to_args(tune_input(dataDir=uri, search=fast))) == 0
    assert main(input_to_args(tune_input(dataDir=uri, search=fast, attempt=2))) == 0
    second = env.events("tuning.completed")[-1]["data"]
    assert second["trials"] == 4
    trials = _study(env, 2).trials
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == 4  # no repeated trial
    summary = json.loads(env.bucket_path(f"{RUN_DIR}/tune/a2/tuning.json").read_text())
    assert summary["resumedFrom"] == f"{RUN_DIR}/tune/a1/study.db" and summary["studyTrials"] == 4
    # The report names the model each searched family trained (tests' TINY_MODELS map both families to tiny: one searched).
    assert summary["models"] == {f: tune_input()["models"][f] for f in summary["families"]} and len(summary["models"]) == 1


def test_a_redelivered_finished_attempt_publishes_the_same_result_without_new_trials(env: Env) -> None:
    uri = synthetic_data(env, rows=300)
    fast = {**tune_input()["search"], "epochs": {"low": 1, "high": 1}, "trials": 2}
    assert main(input_to_args(tune_input(dataDir=uri, search=fast))) == 0
    shutil.copy(env.outbox, env.outbox.with_suffix(".first"))
    env.outbox.unlink()
    assert main(input_to_args(tune_input(dataDir=uri, search=fast))) == 0
    first = [json.loads(x) for x in env.outbox.with_suffix(".first").read_text().splitlines() if '"tuning.completed"' in x][0]
    [again] = env.events("tuning.completed")
    assert again["data"] == first["data"] and env.events("job.progress") == []


def test_a_time_budget_ends_the_study_and_the_train_job_resumes_the_best_trial(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import train_input

    uri = synthetic_data(env, rows=600)
    # Both families name the tiny model: one choice, not a dimension. A 1 s budget cuts the first trial short.
    search = {**tune_input()["search"], "epochs": {"low": 40, "high": 40}, "trials": 5, "timeBudget": 1}
    assert main(input_to_args(tune_input(dataDir=uri, search=search, earlyStoppingPatience=0))) == 0
    [done] = env.events("tuning.completed")
    assert done["data"]["trials"] == 1 and done["data"]["completedTrials"] == 1
    study = _study(env, 1)
    [only] = study.trials
    assert only.params["model_family"] == "bert" and only.user_attrs["stoppedByBudget"] is True and only.user_attrs["epochsRun"] < 40
    summary = json.loads(env.bucket_path(f"{RUN_DIR}/tune/a1/tuning.json").read_text())
    assert summary["families"] == ["bert"] and summary["bestCheckpoint"] == f"{RUN_DIR}/tune/a1/best-trial/checkpoint.pt"
    plan = [e["data"]["message"] for e in env.events("job.progress") if e["data"]["unit"] == "trial"][0]
    assert plan.startswith("tuning: up to 5 trial(s) of tiny within 1 s")

    capsys.readouterr()
    assert main(input_to_args(train_input(dataDir=uri, params=done["data"]["bestParams"], earlyStoppingPatience=0))) == 0
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(entry["message"].startswith("training resumes the best tuning trial's checkpoint") for entry in logs)
    [trained] = env.events("training.completed")
    assert trained["data"]["epochsRun"] == only.user_attrs["epochsRun"] and trained["data"]["validation"] == only.user_attrs["validation"]
    assert [e for e in env.events("job.progress") if e["data"]["step"] == "train" and e["data"]["unit"] == "epoch"] == []


def test_a_bad_trial_is_pruned_after_half_an_epoch(env: Env) -> None:
    uri = synthetic_data(env, rows=600)
    # Trial 1 is the default point; the others at absurd learning rates fall behind it by the first probe.
    search = {**tune_input()["search"], "learningRate": {"low": 0.5, "high": 1.0, "log": False}, "epochs": {"low": 2, "high": 2}, "trials": 3}
    assert main(input_to_args(tune_input(dataDir=uri, search=search))) == 0
    study = _study(env, 1)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    # Step 1 is half an epoch: a trial behind the best there stops, before a single epoch ends.
    assert pruned and min(max(t.intermediate_values) for t in pruned) == 1 and all(max(t.intermediate_values) < 4 for t in pruned)
    assert all("not among the best" in t.user_attrs["prunedBecause"] for t in pruned)
