"""The job reads MLflow's credentials from Secret Manager at start: SP_SECRET_ENV names secret versions."""

import json

import pytest

from sentiment_trainer.secret_env import SecretEnvError, load_secret_env


def test_sets_each_variable_from_its_secret_version():
    env = {"SP_SECRET_ENV": json.dumps({"MLFLOW_TRACKING_PASSWORD": "projects/p/secrets/mlflow-pass/versions/latest"})}
    read: list[str] = []

    def access(name: str) -> str:
        read.append(name)
        return "s3cr3t"

    assert load_secret_env(env, access) == ["MLFLOW_TRACKING_PASSWORD"]
    assert env["MLFLOW_TRACKING_PASSWORD"] == "s3cr3t"
    assert read == ["projects/p/secrets/mlflow-pass/versions/latest"]


def test_does_nothing_without_references():
    env: dict[str, str] = {}
    assert load_secret_env(env, lambda name: pytest.fail("no secret should be read")) == []
    assert env == {}


@pytest.mark.parametrize(
    "refs, problem",
    [
        ('{"MLFLOW_TRACKING_PASSWORD": "hunter2"}', "is not projects/P/secrets/S/versions/V"),
        ('{"lower": "projects/p/secrets/s/versions/1"}', "is not a variable name"),
        ("[1]", "must be an object"),
        ("{", "is not JSON"),
    ],
)
def test_refuses_what_is_not_a_secret_reference(refs: str, problem: str):
    with pytest.raises(SecretEnvError, match=problem):
        load_secret_env({"SP_SECRET_ENV": refs}, lambda name: "x")
