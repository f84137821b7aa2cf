"""MLflow tracking when MLFLOW_TRACKING_URI is set: one experiment per pipeline run, one MLflow run per trial/training.

Tracking never fails the job: the first error (server unreachable, say) is logged as a warning and tracking stops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .args import HyperParams
from .logs import Logger
from .secret_env import load_secret_env


def run_name(params: HyperParams, model_name: str | None = None) -> str:
    """The original pipeline's naming, `{model}_lr_{lr:.0e}_wd_{wd:.0e}_do_{do:.1f}`, with the model the run trains (the
    family only when no model name is given: `--model minilm` maps every family to minilm)."""
    model = (model_name.rstrip("/").rsplit("/", 1)[-1] if model_name else None) or params.model_family
    return f"{model}_lr_{params.learning_rate:.0e}_wd_{params.weight_decay:.0e}_do_{params.dropout:.1f}"


def experiment_name(run_id: str) -> str:
    return f"sentiment-pipeline/{run_id}"


class Tracker:
    """A thin, failure-proof wrapper over the MLflow client."""

    def __init__(self, log: Logger, run_id: str, step: str, attempt: int, uri: str | None = None) -> None:
        self.log = log
        self.uri = uri if uri is not None else os.environ.get("MLFLOW_TRACKING_URI") or None
        self.tags = {"run_id": run_id, "step": step, "attempt": str(attempt)}
        self.experiment = experiment_name(run_id)
        self.enabled = self.uri is not None
        self._client: Any = None
        self._experiment_id: str | None = None
        self._active: str | None = None

    def _fail(self, what: str, err: Exception) -> None:
        self.log.warn(f"MLflow tracking disabled: {what} failed: {type(err).__name__}: {str(err)[:300]}", trackingUri=self.uri)
        self.enabled = False
        self._active = None

    def _connect(self) -> bool:
        if not self.enabled:
            return False
        if self._client is not None:
            return True
        # An unreachable server must cost seconds, not the client's default minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        try:
            # MLflow's credentials, from Secret Manager (the deploy never puts them in the job's environment).
            loaded = load_secret_env()
            if loaded:
                self.log.info(f"MLflow credentials read from Secret Manager: {', '.join(loaded)}")
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=self.uri)
            found = client.get_experiment_by_name(self.experiment)
            self._experiment_id = found.experiment_id if found else client.create_experiment(self.experiment, tags={"run_id": self.tags["run_id"]})
            self._client = client
            return True
        except Exception as err:
            self._fail("connecting", err)
            return False

    def start(self, name: str, params: dict[str, Any], extra_tags: dict[str, str] | None = None) -> None:
        if not self._connect():
            return
        try:
            run = self._client.create_run(self._experiment_id, run_name=name, tags={**self.tags, **(extra_tags or {})})
            self._active = run.info.run_id
            for key, value in params.items():
                self._client.log_param(self._active, key, value)
        except Exception as err:
            self._fail("starting a run", err)

    def params(self, values: dict[str, Any]) -> None:
        if not (self.enabled and self._active):
            return
        try:
            for key, value in values.items():
                self._client.log_param(self._active, key, value)
        except Exception as err:
            self._fail("logging parameters", err)

    def tags(self, values: dict[str, str]) -> None:
        if not (self.enabled and self._active):
            return
        try:
            for key, value in values.items():
                self._client.set_tag(self._active, key, value)
        except Exception as err:
            self._fail("setting tags", err)

    def metrics(self, values: dict[str, float], step: int) -> None:
        if not (self.enabled and self._active):
            return
        try:
            for key, value in values.items():
                self._client.log_metric(self._active, key, float(value), step=step)
        except Exception as err:
            self._fail("logging metrics", err)

    def artifacts(self, folder: Path, path: str) -> None:
        if not (self.enabled and self._active):
            return
        try:
            self._client.log_artifacts(self._active, str(folder), artifact_path=path)
        except Exception as err:
            self._fail("uploading artifacts", err)

    def end(self, status: str = "FINISHED") -> None:
        if not (self.enabled and self._active):
            return
        try:
            self._client.set_terminated(self._active, status=status)
        except Exception as err:
            self._fail("ending a run", err)
        self._active = None
