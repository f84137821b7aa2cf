"""Publishes pipeline events: validated envelopes into the outbox file (SP_OUTBOX) or to Pub/Sub (SP_TOPICS)."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from . import contracts
from .logs import now_iso


class Publisher(Protocol):
    def publish(self, event: dict[str, Any]) -> str: ...


@dataclass(frozen=True)
class Origin:
    """Whose events these are: the run, the step attempt and the correlation id from the job input."""

    run_id: str
    attempt: int
    correlation_id: str


def make_event(event_type: str, origin: Origin, data: dict[str, Any]) -> dict[str, Any]:
    """The full envelope, validated against `event.<type>.schema.json` before it leaves the job."""
    event = {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "runId": origin.run_id,
        "attempt": origin.attempt,
        "time": now_iso(),
        "correlationId": origin.correlation_id,
        "data": data,
    }
    contracts.check(f"event.{event_type}", event, f"{event_type} event")
    return event


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class OutboxPublisher:
    """One JSON line per event, flushed and fsynced before publish returns: the local launcher forwards them."""

    def __init__(self, path: str) -> None:
        self.path = path
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)

    def publish(self, event: dict[str, Any]) -> str:
        with open(self.path, "ab") as f:
            f.write(encode(event) + b"\n")
            f.flush()
            os.fsync(f.fileno())
        return str(event["id"])


class SilentPublisher:
    """A data-parallel worker other than rank 0: events are the chief's to publish, once per job, not once per rank."""

    def publish(self, event: dict[str, Any]) -> str:
        return str(event["id"])


class PubSubPublisher:
    """Pub/Sub, topic per event type from SP_TOPICS; the client honours PUBSUB_EMULATOR_HOST."""

    def __init__(self, topics: dict[str, str], timeout_s: float = 60.0) -> None:
        self.topics = topics
        self.timeout_s = timeout_s

    @staticmethod
    @cache
    def _client() -> Any:
        from google.cloud import pubsub_v1

        return pubsub_v1.PublisherClient()

    def publish(self, event: dict[str, Any]) -> str:
        topic = self.topics.get(event["type"])
        if not topic:
            raise KeyError(f"SP_TOPICS names no topic for {event['type']}")
        attributes = {"type": event["type"], "runId": event["runId"], "eventId": event["id"]}
        future = self._client().publish(topic, encode(event), **attributes)
        return str(future.result(timeout=self.timeout_s))

    def close(self) -> None:
        """Stops the client's batching threads, so the process ends (and Vertex stops billing) once the job is done."""
        if PubSubPublisher._client.cache_info().currsize:
            PubSubPublisher._client().stop()


def publisher_from_env(env: dict[str, str] | None = None) -> Publisher:
    env = dict(os.environ) if env is None else env
    if env.get("SP_OUTBOX"):
        return OutboxPublisher(env["SP_OUTBOX"])
    if env.get("SP_TOPICS"):
        try:
            topics = json.loads(env["SP_TOPICS"])
        except json.JSONDecodeError as err:
            raise ValueError(f"SP_TOPICS is not JSON: {err}") from None
        if not isinstance(topics, dict) or not all(isinstance(v, str) for v in topics.values()):
            raise ValueError("SP_TOPICS must map event types to topic names")
        return PubSubPublisher(topics)
    raise ValueError("no event destination: set SP_OUTBOX (local launcher) or SP_TOPICS (Pub/Sub)")


class Emitter:
    """Builds and publishes the events of one job attempt."""

    def __init__(self, publisher: Publisher, origin: Origin, step: str) -> None:
        self.publisher = publisher
        self.origin = origin
        self.step = step

    def close(self) -> None:
        close = getattr(self.publisher, "close", None)
        if close is not None:
            close()

    def emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        event = make_event(event_type, self.origin, data)
        self.publisher.publish(event)
        return event

    def progress(
        self, unit: str, current: int, total: int | None, message: str | None = None, metrics: dict[str, float] | None = None, eta_seconds: float | None = None
    ) -> None:
        data: dict[str, Any] = {"step": self.step, "unit": unit, "current": current, "total": total}
        if eta_seconds is not None:
            data["etaSeconds"] = max(0.0, float(eta_seconds))
        if message is not None:
            data["message"] = message[:500]
        if metrics:
            data["metrics"] = {k: float(v) for k, v in metrics.items()}
        self.emit("job.progress", data)
