"""The job's command line: parse typed arguments, run tune or train, publish job.failed on a failure retrying cannot fix.

Exit codes: 0 done; 1 unexpected failure (retryable); 2 unusable input (bad arguments, an unreadable or invalid split,
a model that cannot be found); 3 another failure retrying cannot fix (the export parity gate, a GPU job without CUDA).
On Vertex AI (CLOUD_ML_JOB_ID set) a failure the job has reported as job.failed exits 0 instead: Vertex restarts a
worker that exits non-zero, so the pipeline's own retry must be the only one (docs/adr/0008).

A training that spans several processes (replicas in CLUSTER_SPEC, several GPUs, SP_PROCS_PER_NODE) starts torchrun
here and waits for it; each worker comes back through main, joins the group, and only rank 0 publishes. The job exits
with its first local worker's code, so the exit codes above hold for one process or many.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

from .args import ArgumentError, HyperParams, TrainArgs, TuneArgs, identity, parse_args
from .errors import Interrupted, JobInputError, NonRetryableError
from .distributed import SINGLE, Group, close_group, cluster_from_env, die_with_parent, init_group, is_worker, procs_per_node, torchrun_argv
from .events import Emitter, Origin, SilentPublisher, publisher_from_env
from .logs import Logger, route_library_logs

EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_NON_RETRYABLE = 0, 1, 2, 3
#: The trial entry point of a Vertex AI tuning job (trial.py).
TRIAL = "trial"
#: 128 + SIGTERM, what a shell reports for a process the signal ended.
EXIT_INTERRUPTED = 143


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (a stopped job, Vertex cancelling) or SIGINT: unwind, so MLflow runs end KILLED and nothing says FAILED."""
    raise Interrupted(signal.Signals(signum).name)


def job_name(run_id: str, step: str, attempt: int) -> str:
    """The pipeline's name for the job (Vertex's numeric CLOUD_ML_JOB_ID is not what the run knows it by)."""
    return f"sp-{run_id}-{step}-a{attempt}"


def on_vertex(env: dict[str, str] | None = None) -> bool:
    """Vertex AI sets CLOUD_ML_JOB_ID in every custom job's containers."""
    return bool((os.environ if env is None else env).get("CLOUD_ML_JOB_ID"))


def _report_failure(events: Emitter | None, log: Logger, step: str, message: str, code: int, retryable: bool = False) -> bool:
    """The launcher only sees the exit code: tell the pipeline why, and whether retrying can help. True once sent."""
    if events is None:
        return False
    data = {"step": step, "jobName": job_name(events.origin.run_id, step, events.origin.attempt), "error": message[:4000], "retryable": retryable, "exitCode": code}
    try:
        events.emit("job.failed", data)
        return True
    except Exception as err:
        log.error(f"could not publish job.failed: {err}")
        return False


def _exit_code(code: int, reported: bool, log: Logger) -> int:
    """The failure's exit code, or 0 on Vertex once job.failed is out (a non-zero exit makes Vertex re-run the job)."""
    if reported and on_vertex():
        log.info(f"exiting 0 on Vertex AI instead of {code}: the failure is reported, the pipeline decides on a retry")
        return EXIT_OK
    return code


def _emitter_for_bad_arguments(argv: list[str], log: Logger) -> Emitter | None:
    found = identity(argv)
    if found is None:
        return None
    try:
        return Emitter(publisher_from_env(), Origin(found["runId"], found["attempt"], found["correlationId"]), found["step"])
    except ValueError as err:
        log.error(f"cannot report the failure: {err}")
        return None


#: Where a node's first worker leaves its exit code for the launcher (torchrun itself only says that one failed).
EXIT_CODE_FILE_ENV = "SP_EXIT_CODE_FILE"


def _torchrun_command(args: TuneArgs | TrainArgs, argv: list[str]) -> list[str] | None:
    """torchrun's command line when this training spans several processes; None to train here, in one."""
    if not isinstance(args, TrainArgs) or is_worker(os.environ):
        return None
    import torch

    return torchrun_argv(cluster_from_env(os.environ), procs_per_node(os.environ, torch.cuda.device_count()), argv)


def _launch(command: list[str], log: Logger) -> int:
    """Runs torchrun and relays a stop to it (it stops its workers); returns the first local worker's exit code."""
    with tempfile.TemporaryDirectory(prefix="sp-torchrun-") as folder:
        code_file = os.path.join(folder, "exit-code")
        log.info("training under torchrun", command=" ".join(command[1:]))
        proc = subprocess.Popen(command, env={**os.environ, EXIT_CODE_FILE_ENV: code_file}, preexec_fn=die_with_parent)

        def relay(signum: int, _frame: FrameType | None) -> None:
            proc.send_signal(signum)

        signal.signal(signal.SIGTERM, relay)
        signal.signal(signal.SIGINT, relay)
        status = proc.wait()
        try:
            with open(code_file, encoding="utf-8") as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            log.warn(f"torchrun exited {status} before its first worker recorded an exit code")
            return EXIT_UNEXPECTED if status >= 0 else 128 - status


def _run(args: TuneArgs | TrainArgs, events: Emitter, log: Logger, group: Group = SINGLE, params: HyperParams | None = None) -> None:
    from .accelerator import check_accelerator
    from .runtime import JobContext, configure_torch

    import torch

    warning = check_accelerator(os.environ, torch.cuda.is_available(), torch.version.cuda)
    if warning:
        log.warn(warning)
    device = configure_torch(log, group)
    with tempfile.TemporaryDirectory(prefix=f"sp-{args.step}-") as work:
        ctx = JobContext(log=log, events=events, device=device, work=Path(work), env=dict(os.environ), group=group)
        if params is not None and isinstance(args, TuneArgs):
            from .trial import run_trial

            run_trial(args, params, ctx)
        elif isinstance(args, TuneArgs):
            from .tune import run_tune

            run_tune(args, ctx)
        else:
            from .train import run_train

            run_train(args, ctx)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    step = argv[0] if argv else "trainer"
    base = Logger({"component": f"job:{step}"})
    # A Vertex AI tuning trial (trial.py): the tune job's flags plus `--name=value` parameters. Its failures are the
    # tuning job's to count (maxFailedTrialCount), so it reports none to the pipeline.
    trial = step == TRIAL
    params: HyperParams | None = None
    try:
        if trial:
            from .trial import split_argv, trial_params

            tune_argv, raw_params = split_argv(argv[1:])
            args = parse_args(["tune", *tune_argv])
            if not isinstance(args, TuneArgs):
                raise ArgumentError("trial: the tune job's arguments are expected")
            params = trial_params(raw_params, args.search, args.models)
        else:
            args = parse_args(argv)
    except ArgumentError as err:
        base.error(f"job {step} cannot start: {err}")
        if trial:
            return EXIT_BAD_INPUT
        reported = _report_failure(_emitter_for_bad_arguments(argv, base), base, step, str(err), EXIT_BAD_INPUT)
        return _exit_code(EXIT_BAD_INPUT, reported, base)
    log = base.child(runId=args.run_id, step=args.step, attempt=args.attempt)
    try:
        events = Emitter(publisher_from_env(), Origin(args.run_id, args.attempt, args.correlation_id), args.step)
    except ValueError as err:
        log.error(f"job {args.step} cannot start: {err}")
        return EXIT_BAD_INPUT
    route_library_logs(log)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        command = _torchrun_command(args, argv)
    except JobInputError as err:
        log.error(f"job {args.step} cannot start: {err}")
        return _exit_code(EXIT_BAD_INPUT, _report_failure(events, log, args.step, str(err), EXIT_BAD_INPUT), log)
    group = SINGLE
    if command is None and isinstance(args, TrainArgs) and is_worker(os.environ):
        group = init_group(os.environ)
        log = log.child(rank=group.rank, world=group.world)
        if not group.chief:
            events = Emitter(SilentPublisher(), events.origin, events.step)
    log.info(f"job {args.step} started", outDir=args.out_dir)
    try:
        if command is not None:
            return _launch(command, log)
        code = _run_and_report(args, events, log, group, params)
        _record_exit_code(code)
        return code
    finally:
        close_group(group)
        try:
            events.close()
        except Exception as err:  # noqa: BLE001 - closing must never change the job's outcome
            log.warn(f"could not close the event publisher: {err}")


def _record_exit_code(code: int) -> None:
    path = os.environ.get(EXIT_CODE_FILE_ENV)
    if path and os.environ.get("LOCAL_RANK", "0") == "0":
        with open(path, "w", encoding="utf-8") as f:
            f.write(str(code))


def _run_and_report(args: TuneArgs | TrainArgs, events: Emitter, log: Logger, group: Group = SINGLE, params: HyperParams | None = None) -> int:
    if params is not None:
        return _run_trial(args, events, log, params)
    try:
        _run(args, events, log, group)
    except Interrupted as err:
        # Not a failure of the job: whoever stopped it decides what happens to the run (no job.failed from here).
        log.warn(f"job {args.step} interrupted by {err}: stopping", retryable=True)
        return EXIT_INTERRUPTED
    except JobInputError as err:
        log.error(f"job {args.step} failed: {err}", retryable=False)
        return _exit_code(EXIT_BAD_INPUT, _report_failure(events, log, args.step, str(err), EXIT_BAD_INPUT), log)
    except NonRetryableError as err:
        log.error(f"job {args.step} failed: {err}", retryable=False)
        return _exit_code(EXIT_NON_RETRYABLE, _report_failure(events, log, args.step, str(err), EXIT_NON_RETRYABLE), log)
    except Exception as err:
        log.error(f"job {args.step} failed: {err}", retryable=True, error=err)
        # Locally the launcher turns exit 1 into a retryable job.failed; on Vertex only the event can say it.
        if not on_vertex():
            return EXIT_UNEXPECTED
        return _exit_code(EXIT_UNEXPECTED, _report_failure(events, log, args.step, str(err), EXIT_UNEXPECTED, retryable=True), log)
    log.info(f"job {args.step} finished")
    return EXIT_OK


def _run_trial(args: TuneArgs | TrainArgs, events: Emitter, log: Logger, params: HyperParams) -> int:
    """A trial's exit code is all the tuning job reads of its failure: nothing goes to the pipeline from here."""
    try:
        _run(args, events, log, params=params)
    except Interrupted as err:
        log.warn(f"trial stopped by {err}: its reported measurements stand")
        return EXIT_INTERRUPTED
    except (JobInputError, ArgumentError) as err:
        log.error(f"trial failed: {err}", retryable=False)
        return EXIT_BAD_INPUT
    except NonRetryableError as err:
        log.error(f"trial failed: {err}", retryable=False)
        return EXIT_NON_RETRYABLE
    except Exception as err:
        log.error(f"trial failed: {err}", retryable=True, error=err)
        return EXIT_UNEXPECTED
    log.info("trial finished")
    return EXIT_OK
