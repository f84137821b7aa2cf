// The processor's outbox: effects survive a failed call, and concurrent drains in one process do each effect once.
import { describe, expect, it } from "vitest";
import { drainOutbox, processEvent, type RunProcessorDeps } from "../../functions/run-processor.ts";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryRegistry, RecordingBus } from "../support/fakes.ts";
import * as ev from "../support/events.ts";

function deps(launch: (spec: JobSpec) => Promise<{ jobId: string; created: boolean }>): RunProcessorDeps {
  return {
    config: parseConfig({}),
    ledger: new MemoryRunLedger(),
    bus: new RecordingBus(),
    launcher: { launch, cancel: () => Promise.resolve(), describe: () => Promise.resolve(null) },
    registry: new MemoryRegistry(),
    log: new CapturingLogger(),
    clock: { now: () => new Date("2026-05-01T00:00:00Z") },
  };
}

describe("run processor outbox", () => {
  it("does an effect once when deliveries of one run drain the outbox at the same time", async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const d = deps(async (spec) => {
      calls += 1;
      await gate;
      return { jobId: spec.jobName, created: true };
    });
    const first = processEvent(d, ev.runStarted());
    await new Promise((r) => setTimeout(r, 20));
    const others = [drainOutbox(d, ev.RUN), drainOutbox(d, ev.RUN), processEvent(d, ev.runStarted())];
    await new Promise((r) => setTimeout(r, 20));
    release();
    await Promise.all([first, ...others]);
    expect(calls).toBe(1);
    expect((await d.ledger.get(ev.RUN))!.state.outbox).toEqual([]);
  });

  it("keeps an effect whose call failed, and does it on the next delivery", async () => {
    let fail = true;
    const launched: string[] = [];
    const d = deps((spec) => {
      if (fail) return Promise.reject(new Error("Vertex AI unavailable"));
      launched.push(spec.jobName);
      return Promise.resolve({ jobId: spec.jobName, created: true });
    });
    await expect(processEvent(d, ev.runStarted())).rejects.toThrow("Vertex AI unavailable");
    expect((await d.ledger.get(ev.RUN))!.state.outbox.map((e) => e.key)).toEqual(["launch:prepare:a1"]);
    fail = false;
    await processEvent(d, ev.runStarted());
    expect(launched).toEqual([`sp-${ev.RUN}-prepare-a1`]);
    expect((await d.ledger.get(ev.RUN))!.state.outbox).toEqual([]);
  });
});
