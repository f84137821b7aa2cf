"""The job's command line: parse typed arguments, run tune or train, publish job.failed on a failure retrying cannot fix.

Exit codes: 0 done; 1 unexpected failure (retryable); 2 unusable input (bad arguments, an unreadable or invalid split,
a model that cannot be found); 3 another failure retrying cannot fix (the export parity gate).
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from .args import ArgumentError, TrainArgs, TuneArgs, identity, parse_args
from .errors import Interrupted, JobInputError, NonRetryableError
from .events import Emitter, Origin, publisher_from_env
from .logs import Logger, route_library_logs

EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_NON_RETRYABLE = 0, 1, 2, 3
#: 128 + SIGTERM, what a shell reports for a process the signal ended.
EXIT_INTERRUPTED = 143


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (a stopped job, Vertex cancelling) or SIGINT: unwind, so MLflow runs end KILLED and nothing says FAILED."""
    raise Interrupted(signal.Signals(signum).name)


def job_name(run_id: str, step: str, attempt: int) -> str:
    """The pipeline's name for the job (Vertex's numeric CLOUD_ML_JOB_ID is not what the run knows it by)."""
    return f"sp-{run_id}-{step}-a{attempt}"


def _report_failure(events: Emitter | None, log: Logger, step: str, message: str, code: int) -> None:
    """The launcher only sees the exit code: tell the pipeline why, and that retrying cannot help."""
    if events is None:
        return
    data = {"step": step, "jobName": job_name(events.origin.run_id, step, events.origin.attempt), "error": message[:4000], "retryable": False, "exitCode": code}
    try:
        events.emit("job.failed", data)
    except Exception as err:
        log.error(f"could not publish job.failed: {err}")


def _emitter_for_bad_arguments(argv: list[str], log: Logger) -> Emitter | None:
    found = identity(argv)
    if found is None:
        return None
    try:
        return Emitter(publisher_from_env(), Origin(found["runId"], found["attempt"], found["correlationId"]), found["step"])
    except ValueError as err:
        log.error(f"cannot report the failure: {err}")
        return None


def _run(args: TuneArgs | TrainArgs, events: Emitter, log: Logger) -> None:
    from .runtime import JobContext, configure_torch

    device = configure_torch(log)
    with tempfile.TemporaryDirectory(prefix=f"sp-{args.step}-") as work:
        ctx = JobContext(log=log, events=events, device=device, work=Path(work), env=dict(os.environ))
        if isinstance(args, TuneArgs):
            from .tune import run_tune

            run_tune(args, ctx)
        else:
            from .train import run_train

            run_train(args, ctx)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    step = argv[0] if argv else "trainer"
    base = Logger({"component": f"job:{step}"})
    try:
        args = parse_args(argv)
    except ArgumentError as err:
        base.error(f"job {step} cannot start: {err}")
        _report_failure(_emitter_for_bad_arguments(argv, base), base, step, str(err), EXIT_BAD_INPUT)
        return EXIT_BAD_INPUT
    log = base.child(runId=args.run_id, step=args.step, attempt=args.attempt)
    try:
        events = Emitter(publisher_from_env(), Origin(args.run_id, args.attempt, args.correlation_id), args.step)
    except ValueError as err:
        log.error(f"job {args.step} cannot start: {err}")
        return EXIT_BAD_INPUT
    route_library_logs(log)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    log.info(f"job {args.step} started", outDir=args.out_dir)
    try:
        return _run_and_report(args, events, log)
    finally:
        try:
            events.close()
        except Exception as err:  # noqa: BLE001 - closing must never change the job's outcome
            log.warn(f"could not close the event publisher: {err}")


def _run_and_report(args: TuneArgs | TrainArgs, events: Emitter, log: Logger) -> int:
    try:
        _run(args, events, log)
    except Interrupted as err:
        # Not a failure of the job: whoever stopped it decides what happens to the run (no job.failed from here).
        log.warn(f"job {args.step} interrupted by {err}: stopping", retryable=True)
        return EXIT_INTERRUPTED
    except JobInputError as err:
        log.error(f"job {args.step} failed: {err}", retryable=False)
        _report_failure(events, log, args.step, str(err), EXIT_BAD_INPUT)
        return EXIT_BAD_INPUT
    except NonRetryableError as err:
        log.error(f"job {args.step} failed: {err}", retryable=False)
        _report_failure(events, log, args.step, str(err), EXIT_NON_RETRYABLE)
        return EXIT_NON_RETRYABLE
    except Exception as err:
        log.error(f"job {args.step} failed: {err}", retryable=True, error=err)
        return EXIT_UNEXPECTED
    log.info(f"job {args.step} finished")
    return EXIT_OK
