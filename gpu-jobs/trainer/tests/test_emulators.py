"""The trainer's Cloud Storage and Pub/Sub paths against the emulators the stack runs (fake-gcs-server, pstest), not fakes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentiment_trainer import events, storage

BIN = Path(os.environ.get("SP_BIN_DIR") or Path.home() / ".cache" / "sentiment-pipeline" / "bin")
FAKE_GCS = Path(os.environ.get("SP_FAKE_GCS_SERVER") or BIN / "fake-gcs-server")
PSTEST = BIN / "pstest-server"
PROJECT = "local-project"
BUCKET = "emulated-bucket"


def _missing(path: Path) -> bool:
    if path.exists():
        return False
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI needs {path}: run `bash emulator/install.sh`")
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: object, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not start in {seconds}s")


@pytest.fixture(scope="module")
def gcs() -> Iterator[str]:
    if _missing(FAKE_GCS):
        pytest.skip(f"no fake-gcs-server at {FAKE_GCS} (bash emulator/install.sh)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(FAKE_GCS), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-external-url", url, "-backend", "memory", "-log-level", "warn"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: urllib.request.urlopen(f"{url}/storage/v1/b", timeout=1).status == 200, "fake-gcs-server")
        req = urllib.request.Request(f"{url}/storage/v1/b?project={PROJECT}", data=json.dumps({"name": BUCKET}).encode(), headers={"content-type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def cloud_storage(gcs: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Outside embedded mode, gs:// URIs go through the official client to the emulator."""
    monkeypatch.delenv("PIPELINE_MODE", raising=False)
    monkeypatch.setenv("STORAGE_EMULATOR_ENDPOINT", gcs)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    storage._client.cache_clear()
    return gcs


def test_writes_reads_and_checks_objects_through_the_official_client(cloud_storage: str) -> None:
    uri = f"gs://{BUCKET}/runs/r/x.json"
    storage.write_text(uri, '{"a":1}')
    assert storage.read_text(uri) == '{"a":1}' and storage.exists(uri)
    assert not storage.exists(f"gs://{BUCKET}/runs/r/none.json")


def test_a_missing_object_is_a_storage_error_naming_it(cloud_storage: str, tmp_path: Path) -> None:
    with pytest.raises(storage.StorageError, match=f"no such object: gs://{BUCKET}/missing.json"):
        storage.read_bytes(f"gs://{BUCKET}/missing.json")
    with pytest.raises(storage.StorageError, match=f"no such object: gs://{BUCKET}/missing.bin"):
        storage.download_file(f"gs://{BUCKET}/missing.bin", tmp_path / "x.bin")


def test_uploads_and_downloads_a_folder(cloud_storage: str, tmp_path: Path) -> None:
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.bin").write_bytes(b"\x00\x01")
    written = storage.upload_dir(src, f"gs://{BUCKET}/runs/r/train/a1/model")
    assert written == [f"gs://{BUCKET}/runs/r/train/a1/model/a.txt", f"gs://{BUCKET}/runs/r/train/a1/model/sub/b.bin"]
    storage.download_file(written[1], tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == b"\x00\x01"


@pytest.fixture(scope="module")
def pubsub_host() -> Iterator[str]:
    if _missing(PSTEST):
        pytest.skip(f"no pstest-server at {PSTEST} (bash emulator/install.sh)")
    port = _free_port()
    proc = subprocess.Popen([str(PSTEST), "-host", "127.0.0.1", "-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, "pstest-server")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_publishes_each_event_to_its_topic_with_the_codecs_attributes(pubsub_host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
    from google.cloud import pubsub_v1

    topic = f"projects/{PROJECT}/topics/t-job-progress-{os.getpid()}"
    subscription = f"projects/{PROJECT}/subscriptions/s-job-progress-{os.getpid()}"
    admin = pubsub_v1.PublisherClient()
    admin.create_topic(name=topic)
    subscriber = pubsub_v1.SubscriberClient()
    subscriber.create_subscription(name=subscription, topic=topic)
    events.PubSubPublisher._client.cache_clear()
    publisher = events.publisher_from_env({"SP_TOPICS": json.dumps({"job.progress": topic})})
    event = events.make_event("job.progress", events.Origin("run-abc", 2, "corr-9"), {"step": "train", "unit": "epoch", "current": 1, "total": None})
    try:
        message_id = publisher.publish(event)
        assert message_id
        received = subscriber.pull(subscription=subscription, max_messages=10, timeout=30).received_messages
        [got] = [m.message for m in received]
        assert json.loads(got.data) == event
        assert dict(got.attributes) == {"type": "job.progress", "runId": "run-abc", "eventId": event["id"]}
        with pytest.raises(KeyError, match="no topic for training.completed"):
            publisher.publish({**event, "type": "training.completed"})
    finally:
        assert isinstance(publisher, events.PubSubPublisher)
        publisher.close()
        events.PubSubPublisher._client.cache_clear()
        subscriber.close()
