"""The accelerator check at start: a job whose spec asked for a GPU fails at once when CUDA is unusable.

Vertex bills the GPU whether or not torch can use it; a wheel built for another CUDA, or a driver too old for it,
would otherwise train on the CPU for hours at GPU prices. The job spec builder (gpu-jobs/specs/build-job-spec.ts)
tells the job what it asked for in SP_ACCELERATOR ("NVIDIA_L4x1"); the local stand-ins, which run jobs on this
machine's CPU on purpose, say so in SP_ACCELERATOR_STAND_IN.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import NonRetryableError

ACCELERATOR_ENV = "SP_ACCELERATOR"
STAND_IN_ENV = "SP_ACCELERATOR_STAND_IN"
DRIVER_VERSION_FILE = Path("/proc/driver/nvidia/version")


def driver_seen(version_file: Path = DRIVER_VERSION_FILE, smi: Callable[[], str | None] | None = None) -> str:
    """The NVIDIA driver as the machine shows it: nvidia-smi's driver version, else the kernel module's line."""
    found = (smi or _nvidia_smi)()
    if found:
        return f"driver {found} (nvidia-smi)"
    try:
        first = version_file.read_text(encoding="utf-8", errors="replace").splitlines()[0].strip()
        return f"{first} ({version_file})" if first else f"an empty {version_file}"
    except (OSError, IndexError):
        return f"no NVIDIA driver (no nvidia-smi, no {version_file})"


def _nvidia_smi() -> str | None:
    path = shutil.which("nvidia-smi")
    if not path:
        return None
    try:
        out = subprocess.run([path, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    line = out.stdout.strip().splitlines()[0].strip() if out.returncode == 0 and out.stdout.strip() else ""
    return line or None


def check_accelerator(env: Mapping[str, str], cuda_available: bool, torch_cuda: str | None, driver: Callable[[], str] = driver_seen) -> str | None:
    """Raises NonRetryableError when the spec asked for an accelerator that torch cannot use; returns a warning for
    a stand-in that runs the job on the CPU instead, and None when there is nothing to say."""
    asked = env.get(ACCELERATOR_ENV, "").strip()
    if not asked or cuda_available:
        return None
    stand_in = env.get(STAND_IN_ENV, "").strip()
    if stand_in:
        return f"the job spec asks for {asked}; the local stand-in ({stand_in}) runs it on the CPU instead"
    if not re.fullmatch(r"NVIDIA_[A-Z0-9_]+(x\d+)?", asked):
        # TPUs and other kinds are not CUDA devices: this check has nothing to say about them.
        return None
    build = f"CUDA {torch_cuda}" if torch_cuda else "no CUDA (a CPU-only build)"
    raise NonRetryableError(
        f"the job spec asks for {asked} but CUDA is unavailable: torch is built with {build}, and the machine shows "
        f"{driver()}; refusing to train on the CPU at GPU prices (check the image's torch wheel against the driver)"
    )
