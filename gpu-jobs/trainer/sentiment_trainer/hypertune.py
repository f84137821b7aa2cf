"""A trial's metric, written the way Vertex AI hyperparameter tuning reads it: the `cloudml-hypertune` file convention.

The library (github.com/GoogleCloudPlatform/cloudml-hypertune, `hypertune.HyperTune`) keeps the last 100 reports and
rewrites the whole file on each one, one JSON object a line with sorted keys: `{"checkpoint_path": "", "global_step":
"2", "<tag>": "0.87", "timestamp": 1712345678.9, "trial": "3"}`, values as strings except the timestamp. The file is
`CLOUD_ML_HP_METRIC_FILE`, else /tmp/hypertune/output.metrics; the trial is `CLOUD_ML_TRIAL_ID` (0 when unset). Writing
the format here spares the image a dependency; tests/test_trial.py pins it.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_PATH = "/tmp/hypertune/output.metrics"
MAX_ENTRIES = 100
#: The tag the study spec names (gpu-jobs/tune/tuning-job.ts METRIC_ID).
METRIC_TAG = "validation_weighted_f1"


class Hypertune:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.path = Path(env.get("CLOUD_ML_HP_METRIC_FILE") or DEFAULT_PATH)
        self.trial_id = env.get("CLOUD_ML_TRIAL_ID") or "0"
        self.entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)

    def report(self, value: float, step: int, tag: str = METRIC_TAG) -> None:
        self.entries.append({"timestamp": time.time(), "trial": str(self.trial_id), tag: str(float(value)), "global_step": str(int(step)), "checkpoint_path": ""})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a file.
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in self.entries))
        tmp.replace(self.path)


def read_metrics(path: Path, tag: str = METRIC_TAG) -> list[tuple[int, float]]:
    """(global_step, value) of each report of `tag` in a hypertune file, oldest first; lines without it are skipped."""
    out: list[tuple[int, float]] = []
    for line in path.read_text().splitlines():
        entry = json.loads(line) if line.strip() else {}
        if tag in entry:
            out.append((int(entry.get("global_step") or 0), float(entry[tag])))
    return out
