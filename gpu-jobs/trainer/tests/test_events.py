"""Events: validated envelopes, one fsynced outbox line each, or Pub/Sub with the TypeScript codec's attributes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sentiment_trainer import events
from sentiment_trainer.contracts import ContractError
from sentiment_trainer.logs import LABELS_KEY, Logger

ORIGIN = events.Origin("run-abc", 2, "corr-9")


def test_builds_a_valid_envelope_with_the_job_identity() -> None:
    event = events.make_event("job.progress", ORIGIN, {"step": "tune", "unit": "trial", "current": 1, "total": 3})
    assert event["runId"] == "run-abc" and event["attempt"] == 2 and event["correlationId"] == "corr-9"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["time"])
    assert len(event["id"]) >= 8


def test_refuses_an_event_that_breaks_its_schema() -> None:
    with pytest.raises(ContractError, match=r"tuning.completed event does not match event.tuning.completed: data"):
        events.make_event("tuning.completed", ORIGIN, {"outDir": "x"})


def test_outbox_appends_one_json_line_per_event(tmp_path: Path) -> None:
    outbox = tmp_path / "deep" / "outbox.jsonl"
    emitter = events.Emitter(events.publisher_from_env({"SP_OUTBOX": str(outbox)}), ORIGIN, "train")
    emitter.progress("epoch", 1, 3, "m", {"weightedF1": 0.5})
    emitter.progress("epoch", 2, 3)
    lines = outbox.read_text().splitlines()
    assert [json.loads(x)["data"]["current"] for x in lines] == [1, 2]
    assert json.loads(lines[0])["data"]["metrics"] == {"weightedF1": 0.5}


def test_no_destination_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="set SP_OUTBOX"):
        events.publisher_from_env({})


def test_log_lines_carry_cloud_logging_keys(capsys: pytest.CaptureFixture[str]) -> None:
    Logger({"component": "job:train"}).child(runId="r1", step="train", attempt=1).warn("careful", x=1)
    line = json.loads(capsys.readouterr().out)
    assert line["severity"] == "WARNING" and line["message"] == "careful" and line["x"] == 1
    assert line[LABELS_KEY] == {"component": "job:train", "runId": "r1", "step": "train", "attempt": "1"}


def test_a_failure_names_the_job_as_the_pipeline_does_even_on_vertex(monkeypatch):
    """Vertex's CLOUD_ML_JOB_ID is a number; the run knows its jobs as sp-RUN-STEP-aN."""
    from sentiment_trainer.cli import job_name

    monkeypatch.setenv("CLOUD_ML_JOB_ID", "1234567890")
    assert job_name("run-1", "train", 2) == "sp-run-1-train-a2"


def test_closing_an_emitter_stops_a_publisher_that_can_be_stopped():
    from sentiment_trainer.events import Emitter, Origin

    class Stoppable:
        closed = 0

        def publish(self, event):
            return event["id"]

        def close(self):
            Stoppable.closed += 1

    Emitter(Stoppable(), Origin("run-1", 1, "run-1"), "train").close()
    assert Stoppable.closed == 1
    Emitter(type("Plain", (), {"publish": lambda self, e: e["id"]})(), Origin("run-1", 1, "run-1"), "train").close()
