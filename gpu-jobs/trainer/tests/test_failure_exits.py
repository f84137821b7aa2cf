"""How a failed job ends: job.failed and an exit code locally, exit 0 on Vertex once reported; the CUDA check at start."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import Env, input_to_args, synthetic_data, train_input
from sentiment_trainer.accelerator import check_accelerator, driver_seen
from sentiment_trainer.cli import main
from sentiment_trainer.errors import NonRetryableError


def test_a_gpu_spec_without_cuda_fails_naming_the_torch_build_and_the_driver() -> None:
    with pytest.raises(NonRetryableError) as caught:
        check_accelerator({"SP_ACCELERATOR": "NVIDIA_L4x1"}, False, "12.4", driver=lambda: "driver 535.104.05 (nvidia-smi)")
    message = str(caught.value)
    assert "NVIDIA_L4x1" in message and "torch is built with CUDA 12.4" in message and "driver 535.104.05" in message


def test_a_cpu_only_torch_build_is_named_as_such() -> None:
    with pytest.raises(NonRetryableError, match=r"no CUDA \(a CPU-only build\)"):
        check_accelerator({"SP_ACCELERATOR": "NVIDIA_TESLA_T4x2"}, False, None, driver=lambda: "no NVIDIA driver")


def test_no_accelerator_asked_or_cuda_present_passes() -> None:
    assert check_accelerator({}, False, None) is None
    assert check_accelerator({"SP_ACCELERATOR": "NVIDIA_L4x1"}, True, "12.4") is None


def test_a_local_stand_in_runs_a_gpu_spec_on_the_cpu_with_a_warning() -> None:
    warning = check_accelerator({"SP_ACCELERATOR": "NVIDIA_L4x1", "SP_ACCELERATOR_STAND_IN": "vertex stand-in"}, False, None)
    assert warning is not None and "runs it on the CPU" in warning


def test_the_driver_comes_from_nvidia_smi_else_the_kernel_module(tmp_path: Path) -> None:
    assert driver_seen(tmp_path / "none", smi=lambda: "550.54.15") == "driver 550.54.15 (nvidia-smi)"
    version = tmp_path / "version"
    version.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC\n")
    assert driver_seen(version, smi=lambda: None).startswith("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05")
    assert "no NVIDIA driver" in driver_seen(tmp_path / "none", smi=lambda: None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_the_trainer_refuses_a_gpu_spec_without_cuda_before_reading_anything(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_ACCELERATOR", "NVIDIA_L4x1")
    # No data at all: the check must come first, not after hours on the CPU (or an input error).
    code = main(input_to_args(train_input(dataDir="gs://test-bucket/runs/run-test-1/prepare/a9")))
    assert code == 3
    [failed] = env.events("job.failed")
    assert failed["data"]["retryable"] is False and "CUDA is unavailable" in failed["data"]["error"]
    assert env.events("training.completed") == []


def test_on_vertex_a_reported_permanent_failure_exits_0(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_ML_JOB_ID", "1234567890")
    code = main(input_to_args(train_input(maxLength=4)))
    assert code == 0
    [failed] = env.events("job.failed")
    assert failed["data"]["retryable"] is False and failed["data"]["exitCode"] == 2


def test_on_vertex_an_unexpected_failure_is_reported_retryable_and_exits_0(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_ML_JOB_ID", "1234567890")
    uri = synthetic_data(env, rows=60)
    import sentiment_trainer.train as train

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(train, "run_train", boom)
    assert main(input_to_args(train_input(dataDir=uri))) == 0
    [failed] = env.events("job.failed")
    assert failed["data"]["retryable"] is True and failed["data"]["exitCode"] == 1
    assert "illegal memory access" in failed["data"]["error"]


def test_locally_an_unexpected_failure_exits_1_and_leaves_the_event_to_the_launcher(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = synthetic_data(env, rows=60)
    import sentiment_trainer.train as train

    monkeypatch.setattr(train, "run_train", lambda *_a, **_k: (_ for _ in ()).throw(RuntimeError("boom")))
    assert main(input_to_args(train_input(dataDir=uri))) == 1
    assert env.events("job.failed") == []
