"""Job arguments: the same flags the TypeScript side renders, typed; bad ones fail naming the flag, exit 2, job.failed."""

from __future__ import annotations

import json

import pytest
from conftest import SEARCH, Env, input_to_args, train_input, tune_input

from sentiment_trainer.args import ArgumentError, HyperParams, TrainArgs, TuneArgs, parse_args, to_camel
from sentiment_trainer.cli import main


def test_parses_train_arguments_into_typed_dataclasses() -> None:
    plan = {"method": "reweight", "slices": [{"column": "year", "value": "2021", "weight": 3, "f1": 0.5, "ratio": 0.6}], "fromEvaluationAttempt": 1}
    args = parse_args(input_to_args(train_input(mitigation=plan)))
    assert isinstance(args, TrainArgs)
    assert args.params == HyperParams("bert", 1e-3, 32, 4, 0.01, 0.1)
    assert args.models == {"bert": "tiny", "roberta": "tiny"}
    assert args.use_side_features is True and args.max_length == 64 and args.run_id == "run-test-1"
    assert args.mitigation is not None and args.mitigation.slices[0].weight == 3.0
    assert to_camel(args.mitigation) == plan


def test_parses_tune_arguments_and_round_trips_to_the_schema_document() -> None:
    job_input = tune_input()
    args = parse_args(input_to_args(job_input))
    assert isinstance(args, TuneArgs)
    assert args.search.trials == 3 and args.search.batch_sizes == (32, 64) and args.search.learning_rate.log is True
    assert to_camel(args) == json.loads(json.dumps(job_input))


def test_rejects_an_unknown_flag_by_name() -> None:
    with pytest.raises(ArgumentError, match=r"unknown flag --learning-rate"):
        parse_args([*input_to_args(train_input()), "--learning-rate", "0.1"])


def test_rejects_a_snake_case_spelling_of_a_known_flag() -> None:
    argv = input_to_args(train_input())
    argv[argv.index("--max-length")] = "--max_length"
    with pytest.raises(ArgumentError, match=r"unknown flag --max_length"):
        parse_args(argv)


def test_names_the_flag_whose_value_is_not_json() -> None:
    argv = input_to_args(train_input())
    argv[argv.index("--params") + 1] = "{not json"
    with pytest.raises(ArgumentError, match=r"flag --params must be JSON"):
        parse_args(argv)


def test_names_the_flag_and_field_that_break_the_schema() -> None:
    with pytest.raises(ArgumentError, match=r"--max-length: 4 is less than the minimum of 8"):
        parse_args(input_to_args(train_input(maxLength=4)))
    bad = {**SEARCH, "batchSizes": []}
    with pytest.raises(ArgumentError, match=r"--search\.batchSizes"):
        parse_args(input_to_args(tune_input(search=bad)))


def test_names_a_missing_flag() -> None:
    job_input = train_input()
    del job_input["dataDir"]
    with pytest.raises(ArgumentError, match=r"--data-dir: is required"):
        parse_args(input_to_args(job_input))


def test_rejects_an_unknown_command() -> None:
    with pytest.raises(ArgumentError, match=r"unknown command 'evaluate'"):
        parse_args(["evaluate", "--run-id", "x"])


def test_bad_arguments_exit_2_and_publish_a_non_retryable_job_failed(env: Env) -> None:
    code = main(input_to_args(train_input(maxLength=4)))
    assert code == 2
    [failed] = env.events("job.failed")
    assert failed["runId"] == "run-test-1" and failed["attempt"] == 1 and failed["correlationId"] == "corr-1"
    assert failed["data"]["retryable"] is False and failed["data"]["exitCode"] == 2
    assert failed["data"]["jobName"] == "sp-run-test-1-train-a1"
    assert "--max-length" in failed["data"]["error"]


def test_arguments_without_a_run_identity_exit_2_without_an_event(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--bogus", "1"]) == 2
    assert env.events() == []
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["severity"] == "ERROR" and "unknown flag --bogus" in line["message"]


HOSTILE_DIRS = [
    "/etc",
    "../../../../etc",
    "file:///etc",
    "gs://other-bucket/runs/run-test-1/prepare/a1",
    "gs://test-bucket/runs/another-run/prepare/a1",
    "gs://test-bucket/runs/run-test-1/prepare/a1/../../../../etc",
    "gs://test-bucket/runs/run-test-1/train/a1/model",
]


@pytest.mark.parametrize("data_dir", HOSTILE_DIRS)
def test_refuses_a_data_dir_outside_its_runs_prepare_folder(data_dir: str) -> None:
    with pytest.raises(ArgumentError, match=r"--data-dir must be this run's prepare folder gs://test-bucket/runs/run-test-1/prepare/aN"):
        parse_args(input_to_args(train_input(dataDir=data_dir)), {"BUCKET": "test-bucket"})


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        ({"runDir": "gs://other-bucket/runs/run-test-1", "outDir": "gs://other-bucket/runs/run-test-1/tune/a1"}, "--run-dir"),
        ({"runDir": "gs://test-bucket/runs/another-run", "outDir": "gs://test-bucket/runs/another-run/tune/a1"}, "--run-dir"),
        ({"runDir": "/etc"}, "--run-dir"),
        ({"outDir": "gs://test-bucket/runs/run-test-1/tune/a2"}, "--out-dir"),
        ({"outDir": "/tmp/out"}, "--out-dir"),
    ],
)
def test_refuses_a_run_or_out_dir_that_is_not_its_own(overrides: dict[str, str], flag: str) -> None:
    with pytest.raises(ArgumentError, match=rf"{flag} must be"):
        parse_args(input_to_args(tune_input(**overrides)), {"BUCKET": "test-bucket"})


def test_a_hostile_data_dir_exits_2_before_reading_anything(env: Env) -> None:
    assert main(input_to_args(tune_input(dataDir="/etc"))) == 2
    [failed] = env.events("job.failed")
    assert failed["data"]["retryable"] is False and "--data-dir must be" in failed["data"]["error"]


def test_vertex_folders_outside_the_output_folder_are_refused(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from sentiment_trainer.args import under_out_dir
    from sentiment_trainer.errors import JobInputError

    args = parse_args(input_to_args(train_input()))
    assert under_out_dir(args, {}, "AIP_MODEL_DIR", "d") == "d"
    assert under_out_dir(args, {"AIP_MODEL_DIR": f"{args.out_dir}/model/"}, "AIP_MODEL_DIR", "d") == f"{args.out_dir}/model/"
    for bad in ("gs://test-bucket/elsewhere/model/", f"{args.out_dir}/../../a2/model/", "/etc/"):
        with pytest.raises(JobInputError, match=r"AIP_MODEL_DIR must lie under the job's output folder"):
            under_out_dir(args, {"AIP_MODEL_DIR": bad}, "AIP_MODEL_DIR", "d")


def test_the_compile_mode_defaults_to_auto_and_an_unknown_one_is_refused_by_name() -> None:
    older = {k: v for k, v in train_input().items() if k != "compileStep"}  # an input written before the field
    assert parse_args(input_to_args(older)).compile_step == "auto"
    assert parse_args(input_to_args(train_input(compileStep="graphs"))).compile_step == "graphs"
    with pytest.raises(ArgumentError, match=r"--compile-step: 'fast' is not one of"):
        parse_args(input_to_args(train_input(compileStep="fast")))
