"""JSON log lines on stdout with Cloud Logging's keys, the same shape as platform/json-logger.ts."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

LABELS_KEY = "logging.googleapis.com/labels"


def now_iso() -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as JavaScript's toISOString writes it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Logger:
    """One JSON line per entry: severity, message, time, fields, labels (runId, step, attempt, ...)."""

    def __init__(self, labels: dict[str, Any] | None = None, stream: TextIO | None = None) -> None:
        self.labels = {k: str(v) for k, v in (labels or {}).items() if v is not None}
        self._stream = stream

    def child(self, **labels: Any) -> Logger:
        return Logger({**self.labels, **labels}, self._stream)

    def log(self, severity: str, message: str, **fields: Any) -> None:
        entry: dict[str, Any] = {"severity": severity, "message": message, "time": now_iso(), **fields}
        if self.labels:
            entry[LABELS_KEY] = self.labels
        stream = self._stream or sys.stdout
        stream.write(json.dumps(entry, default=_default) + "\n")
        stream.flush()

    def debug(self, message: str, **fields: Any) -> None:
        self.log("DEBUG", message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log("INFO", message, **fields)

    def warn(self, message: str, **fields: Any) -> None:
        self.log("WARNING", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("ERROR", message, **fields)


def _default(value: Any) -> Any:
    if isinstance(value, BaseException):
        return {"name": type(value).__name__, "message": str(value), "stack": "".join(traceback.format_exception(value))}
    return str(value)


class _Bridge(logging.Handler):
    """Routes warnings of the libraries (optuna, transformers, mlflow) through the JSON logger."""

    def __init__(self, logger: Logger) -> None:
        super().__init__(level=logging.WARNING)
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        severity = "ERROR" if record.levelno >= logging.ERROR else "WARNING"
        self._logger.log(severity, record.getMessage(), logger=record.name)


def route_library_logs(logger: Logger) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(_Bridge(logger))
    root.setLevel(logging.WARNING)
    for name in ("optuna", "transformers", "mlflow", "alembic"):
        lib = logging.getLogger(name)
        for h in list(lib.handlers):
            lib.removeHandler(h)
        lib.propagate = True
        lib.setLevel(logging.WARNING)
