// reconcile-runs: no run stays running once its job has ended, and a job past its step deadline is cancelled and counted.
import { beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../schemas/load-config.ts";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { reconcileRuns, type ReconcileDeps } from "../../functions/reconcile-runs.ts";
import { processEvent, type RunProcessorDeps } from "../../functions/run-processor.ts";
import { jobEndEventId } from "../../functions/watch-jobs.ts";
import type { JobInfo } from "../../platform/ports/job-launcher.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryDeadLetters, MemoryRegistry, RecordingBus, RecordingLauncher } from "../support/fakes.ts";
import * as ev from "../support/events.ts";

const config = parseConfig({
  reconcile: { stepDeadlineSeconds: { tune: 3600 }, endedGraceSeconds: 600 },
});
const TUNE = `sp-${ev.RUN}-tune-a1`;

let now = new Date();
let bus: RecordingBus;
let launcher: RecordingLauncher;
let ledger: MemoryRunLedger;
let deps: ReconcileDeps & RunProcessorDeps;

/** A run whose tune attempt 1 was launched at `launched`. */
async function runInTune(): Promise<Date> {
  await processEvent(deps, ev.runStarted());
  await processEvent(deps, ev.dataPrepared());
  const launched = new Date((await ledger.get(ev.RUN))!.state.steps.tune.startedAt!);
  bus.events.length = 0;
  return launched;
}

const info = (state: JobInfo["state"], extra: Partial<JobInfo> = {}): JobInfo => ({
  jobId: "projects/p/locations/r/customJobs/1",
  jobName: TUNE,
  state,
  labels: {},
  error: null,
  ...extra,
});

/** Applies what reconcile-runs published, as advance-run does. */
async function deliver(): Promise<void> {
  for (const e of bus.events.splice(0)) await processEvent(deps, e);
}

beforeEach(() => {
  bus = new RecordingBus();
  launcher = new RecordingLauncher();
  ledger = new MemoryRunLedger();
  deps = {
    config,
    ledger,
    launcher,
    bus,
    registry: new MemoryRegistry(),
    log: new CapturingLogger(),
    deadLetters: new MemoryDeadLetters(),
    clock: { now: () => now },
  };
});

describe("reconcile-runs", () => {
  it("fails a run whose job Vertex failed after its restarts, when no entry ever told the run", async () => {
    const launched = await runInTune();
    launcher.infos.set(
      TUNE,
      info("FAILED", {
        error:
          "The replica workerpool0-0 exited with a non-zero status of 137. Termination reason: OOMKilled.",
        endTime: new Date(launched.getTime() + 60_000).toISOString(),
      }),
    );
    now = new Date(launched.getTime() + 60_000 + 601_000);
    expect(await reconcileRuns(deps)).toEqual([
      { runId: ev.RUN, jobName: TUNE, action: "ended", state: "FAILED" },
    ]);
    expect(bus.ofType("job.failed")[0]).toMatchObject({
      id: jobEndEventId(TUNE, "FAILED"),
      attempt: 1,
      data: { step: "tune", retryable: false, state: "FAILED" },
    });
    await deliver();
    expect((await ledger.get(ev.RUN))!.state).toMatchObject({ status: "completed", outcome: "failed" });
  });

  it("retries a step whose job succeeded but whose completion event never came", async () => {
    const launched = await runInTune();
    launcher.infos.set(TUNE, info("SUCCEEDED", { endTime: launched.toISOString() }));
    now = new Date(launched.getTime() + 601_000);
    await reconcileRuns(deps);
    expect(bus.ofType("job.failed")[0]?.data).toMatchObject({ retryable: true, state: "SUCCEEDED" });
    await deliver();
    const state = (await ledger.get(ev.RUN))!.state;
    expect(state.status).toBe("running");
    expect(state.steps.tune).toMatchObject({ attempt: 2, status: "running", failuresInRow: 1 });
  });

  it("cancels a job past its step deadline and counts the attempt as failed", async () => {
    const launched = await runInTune();
    launcher.infos.set(TUNE, info("QUEUED"));
    now = new Date(launched.getTime() + 3601_000);
    expect((await reconcileRuns(deps))[0]).toMatchObject({ action: "deadline", state: "QUEUED" });
    expect(launcher.cancelled).toEqual([TUNE]);
    expect(bus.ofType("job.failed")[0]?.data.error).toMatch(/deadline of 3600 s .*stepDeadlineSeconds\.tune/);
    await deliver();
    expect((await ledger.get(ev.RUN))!.state.steps.tune).toMatchObject({ attempt: 2, failuresInRow: 1 });
  });

  it("counts the deadline's cancel once although watch-jobs reports the CANCELLED entry too", async () => {
    const launched = await runInTune();
    launcher.infos.set(TUNE, info("RUNNING"));
    now = new Date(launched.getTime() + 3601_000);
    await reconcileRuns(deps);
    const [fromReconcile] = bus.events.splice(0);
    await processEvent(deps, fromReconcile!);
    const again = { ...fromReconcile!, data: { ...fromReconcile!.data, error: "Job was cancelled." } };
    expect((await processEvent(deps, again as typeof fromReconcile & object)).kind).toBe("ignored");
    expect((await ledger.get(ev.RUN))!.state.steps.tune.failuresInRow).toBe(1);
  });

  it("leaves alone a job that runs within its deadline, one that just ended, and completed runs", async () => {
    const launched = await runInTune();
    launcher.infos.set(TUNE, info("RUNNING"));
    now = new Date(launched.getTime() + 3599_000);
    expect(await reconcileRuns(deps)).toEqual([]);
    launcher.infos.set(TUNE, info("FAILED", { endTime: new Date(now.getTime() - 1000).toISOString() }));
    expect(await reconcileRuns(deps)).toEqual([]);
    expect(bus.events).toEqual([]);
    expect(launcher.cancelled).toEqual([]);
  });
});
