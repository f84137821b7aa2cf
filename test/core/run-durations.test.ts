// Working vs idle time: the hours between a run's end and its retrigger are not counted as the run's work.
import { describe, expect, it } from "vitest";
import { runDurations } from "../../functions/core/run-durations.ts";

const at = (min: number) => new Date(Date.UTC(2026, 11, 3, 10, 0) + min * 60_000).toISOString();
const step = (min: number) => ({ at: at(min), step: "train" as const, attempt: 1 });
const completion = (min: number) => ({ at: at(min), step: null, attempt: 0 });

describe("runDurations", () => {
  it("counts a run without retriggers from its start to its end", () => {
    const d = runDurations(
      {
        createdAt: at(0),
        updatedAt: at(20),
        status: "completed",
        trail: [step(0), step(12), completion(20)],
      },
      new Date(at(999)),
    );
    expect(d).toEqual({ workingMs: 20 * 60_000, idleMs: 0 });
  });

  it("shows the hours between a run's end and its retrigger as idle, not as work", () => {
    // Worked 15 min, sat completed 5 h, retriggered from evaluate, worked 4 min more and ended again.
    const d = runDurations(
      {
        createdAt: at(0),
        updatedAt: at(15 + 300 + 4),
        status: "completed",
        trail: [step(0), step(10), completion(15), step(315), completion(319)],
      },
      new Date(at(9999)),
    );
    expect(d).toEqual({ workingMs: 19 * 60_000, idleMs: 300 * 60_000 });
  });

  it("counts a running run up to now", () => {
    const d = runDurations(
      { createdAt: at(0), updatedAt: at(5), status: "running", trail: [step(0), step(5)] },
      new Date(at(8)),
    );
    expect(d).toEqual({ workingMs: 8 * 60_000, idleMs: 0 });
  });
});
