"""MLflow tracking when MLFLOW_TRACKING_URI is set: one experiment per model line, a parent run per pipeline run, and
a nested run per tuning trial and per training attempt, with snake_case keys (`learning_rate`, `val_weighted_f1`).

Tracking never fails the job: the first error (server unreachable, say) is logged as a warning and tracking stops.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .args import HyperParams, snake
from .logs import Logger
from .secret_env import load_secret_env


def run_name(params: HyperParams, model_name: str | None = None) -> str:
    """The original pipeline's naming, `{model}_lr_{lr:.0e}_wd_{wd:.0e}_do_{do:.1f}`, with the model the run trains (the
    family only when no model name is given: `--model minilm` maps every family to minilm)."""
    model = (model_name.rstrip("/").rsplit("/", 1)[-1] if model_name else None) or params.model_family
    return f"{model}_lr_{params.learning_rate:.0e}_wd_{params.weight_decay:.0e}_do_{params.dropout:.1f}"


#: The experiment when the job is not told its model line (the pipeline sets MLflow's own MLFLOW_EXPERIMENT_NAME to
#: `sentiment-pipeline/<line>`, as tracking/mlflow-names.ts names it).
DEFAULT_EXPERIMENT = "sentiment-pipeline"

#: The tag that makes a run nested under another in MLflow's UI (what `mlflow.start_run(nested=True)` sets).
PARENT_TAG = "mlflow.parentRunId"


def experiment_name(env: Any = None, family: str | None = None) -> str:
    """The experiment of a run that trains `family`: its line's, from SP_MLFLOW_EXPERIMENTS (family -> experiment, set
    by the job spec, so that one experiment holds one line's models); else MLFLOW_EXPERIMENT_NAME, the pipeline run's."""
    env = env if env is not None else os.environ
    if family:
        try:
            mapping = json.loads(env.get("SP_MLFLOW_EXPERIMENTS") or "{}")
        except ValueError:
            mapping = {}
        name = mapping.get(family) if isinstance(mapping, dict) else None
        if isinstance(name, str) and name:
            return name
    return str(env.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT)


def key(name: str) -> str:
    """One naming scheme in MLflow: snake_case (`learningRate` -> `learning_rate`, `weightedF1` -> `weighted_f1`)."""
    return snake(name).lower()


def val_metrics(validation: dict[str, Any]) -> dict[str, float]:
    """Validation-split scores as `val_*` metrics, the counterpart of the evaluation run's `test_*`."""
    return {f"val_{key(k)}": float(v) for k, v in validation.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


class Tracker:
    """A thin, failure-proof wrapper over the MLflow client."""

    def __init__(self, log: Logger, run_id: str, step: str, attempt: int, uri: str | None = None) -> None:
        self.log = log
        self.uri = uri if uri is not None else os.environ.get("MLFLOW_TRACKING_URI") or None
        self.run_id = run_id
        # Not `self.tags`: that would hide the tags() method.
        self.run_tags = {"run_id": run_id, "step": step, "attempt": str(attempt)}
        self.experiment = experiment_name()
        self.enabled = self.uri is not None
        self._client: Any = None
        self._experiment_id: str | None = None
        self._parent: str | None = None
        self._active: str | None = None
        #: Experiment name -> (experiment id, this pipeline run's parent run there), as resolved so far.
        self._known: dict[str, tuple[str, str]] = {}

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
            self._select(client, self.experiment)
            self._client = client
            return True
        except Exception as err:
            self._fail("connecting", err)
            return False

    def _select(self, client: Any, name: str) -> None:
        """Makes `name` the experiment the next runs go to, with this pipeline run's parent run in it."""
        if name not in self._known:
            found = client.get_experiment_by_name(name)
            experiment_id = found.experiment_id if found is not None else None
            if found is None:
                line = name.rsplit("/", 1)[-1]
                try:
                    experiment_id = client.create_experiment(name, tags={"pipeline": "sentiment-pipeline", "model_line": line})
                except Exception:
                    # Another job or the pipeline's tracker created it in between.
                    found = client.get_experiment_by_name(name)
                    if found is None:
                        raise
                    experiment_id = found.experiment_id
            self._experiment_id = str(experiment_id)
            self._known[name] = (self._experiment_id, self._parent_run(client))
        self._experiment_id, self._parent = self._known[name]

    def _parent_run(self, client: Any) -> str:
        """The pipeline run's parent run, found by its tags or created; the pipeline's tracker (tracking/run-tracking.ts)
        looks for the same one. When two writers race to create it, the older run wins and the other is deleted."""
        where = f"tags.run_id = '{self.run_id}' and tags.step = 'pipeline'"
        found = client.search_runs([self._experiment_id], filter_string=where)
        if found:
            return str(min(found, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id)
        created = client.create_run(self._experiment_id, run_name=self.run_id, tags={"run_id": self.run_id, "step": "pipeline"}).info.run_id
        runs = client.search_runs([self._experiment_id], filter_string=where)
        winner = str(min(runs, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id) if runs else created
        if winner != created:
            client.delete_run(created)
        return winner

    def start(self, name: str, params: dict[str, Any], extra_tags: dict[str, str] | None = None, family: str | None = None) -> None:
        """A run nested under the pipeline run's parent; with `family`, in the experiment of that family's line."""
        if not self._connect():
            return
        try:
            if family:
                self._select(self._client, experiment_name(family=family))
            tags = {**self.run_tags, **(extra_tags or {}), PARENT_TAG: str(self._parent)}
            run = self._client.create_run(self._experiment_id, run_name=name, tags=tags)
            self._active = run.info.run_id
            for name_, value in params.items():
                self._client.log_param(self._active, key(name_), value)
        except Exception as err:
            self._fail("starting a run", err)

    def params(self, values: dict[str, Any]) -> None:
        if not (self.enabled and self._active):
            return
        try:
            for name, value in values.items():
                self._client.log_param(self._active, key(name), value)
        except Exception as err:
            self._fail("logging parameters", err)

    def tags(self, values: dict[str, str]) -> None:
        if not (self.enabled and self._active):
            return
        try:
            for name, value in values.items():
                self._client.set_tag(self._active, name, value)
        except Exception as err:
            self._fail("setting tags", err)

    def metrics(self, values: dict[str, float], step: int) -> None:
        if not (self.enabled and self._active):
            return
        try:
            for name, value in values.items():
                self._client.log_metric(self._active, key(name), float(value), step=step)
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
