"""The tune job: a seeded three-trial search that prunes, stored in the run folder, resumable across attempts."""

from __future__ import annotations

import csv
import io
import json
import shutil

import optuna
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
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert all(len(t.intermediate_values) < t.params["epochs"] for t in pruned)
    rows = list(csv.DictReader(io.StringIO(env.bucket_path(f"{RUN_DIR}/tune/a1/trials.csv").read_text())))
    assert [r["state"] for r in rows] == [t.state.name for t in study.trials]
    progress = [e["data"] for e in env.events("job.progress")]
    assert [p["current"] for p in progress] == [1, 2, 3] and {p["unit"] for p in progress} == {"trial"} and progress[-1]["total"] == 3


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
