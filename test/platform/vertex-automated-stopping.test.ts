// The stand-in's automated stopping rules (median, decay curve) on scripted measurement curves.
import { describe, expect, it } from "vitest";
import {
  elapsedSince,
  stopReason,
  stoppingRuleOf,
  type Measurement,
} from "../../emulator/vertex/automated-stopping.ts";
import { RpcError } from "../../emulator/vertex/resources.ts";

/** A curve of one value per step (1, 2, ...), `seconds` apart. */
function curve(values: number[], seconds = 10): Measurement[] {
  return values.map((value, i) => ({
    elapsedDuration: { seconds: String((i + 1) * seconds), nanos: 0 },
    stepCount: String(i + 1),
    metrics: [{ metricId: "f1", value }],
  }));
}

const median = { kind: "median", useElapsedDuration: false } as const;
const decay = { kind: "decayCurve", useElapsedDuration: false } as const;

describe("the median automated stopping rule", () => {
  it("compares the trial's best value with the median of the completed trials' running averages up to its step", () => {
    // Running averages at step 2: (0.5+0.7)/2 = 0.6, (0.4+0.6)/2 = 0.5, (0.7+0.9)/2 = 0.8; median 0.6.
    const completed = [curve([0.5, 0.7, 0.9]), curve([0.4, 0.6, 0.6]), curve([0.7, 0.9, 0.9])];
    expect(stopReason(median, curve([0.55, 0.58]), completed, true)).toMatch(/median running average/);
    // Strictly below: equal to the median runs on; a best earlier value counts.
    expect(stopReason(median, curve([0.6, 0.5]), completed, true)).toBeNull();
    // Later steps of completed trials do not count: at step 1 the median is 0.5.
    expect(stopReason(median, curve([0.55]), completed, true)).toBeNull();
  });

  it("turns round for a metric to minimise", () => {
    const completed = [curve([0.5, 0.3]), curve([0.4, 0.2])];
    expect(stopReason(median, curve([0.6]), completed, false)).not.toBeNull();
    expect(stopReason(median, curve([0.42]), completed, false)).toBeNull();
  });

  it("does not decide without a completed trial measured by then", () => {
    expect(stopReason(median, curve([0.1]), [], true)).toBeNull();
    expect(stopReason(median, curve([0.1]), [[]], true)).toBeNull();
  });

  it("reads elapsed time instead of steps with use_elapsed_duration", () => {
    const rule = { kind: "median", useElapsedDuration: true } as const;
    // The completed trial took 100 s a step: by 20 s it had measured nothing, so no decision yet.
    expect(stopReason(rule, curve([0.1, 0.1], 10), [curve([0.9, 0.9], 100)], true)).toBeNull();
    expect(stopReason(rule, curve([0.1], 100), [curve([0.9, 0.9], 100)], true)).not.toBeNull();
    expect(elapsedSince({ seconds: "100", nanos: 500_000_000 }, 102_750)).toEqual({
      seconds: "2",
      nanos: 250_000_000,
    });
  });
});

describe("the decay curve stopping rule (the stand-in's bound, not Vizier's Gaussian process)", () => {
  it("stops a trial that cannot reach the best value even with the largest later gain of a completed trial", () => {
    // Completed: 0.5 -> 0.8 (gain 0.3 after step 1), 0.7 -> 0.75. Best so far 0.8.
    const completed = [curve([0.5, 0.7, 0.8]), curve([0.7, 0.72, 0.75])];
    expect(stopReason(decay, curve([0.4]), completed, true)).toMatch(/short of the best value 0.8/);
    expect(stopReason(decay, curve([0.55]), completed, true)).toBeNull();
    // At step 2 the largest later gain is 0.1: 0.65 + 0.1 < 0.8.
    expect(stopReason(decay, curve([0.6, 0.65]), completed, true)).not.toBeNull();
  });
});

describe("the study's stopping spec", () => {
  it("is median, decay curve or none; the convex rule is refused by name", () => {
    expect(stoppingRuleOf({ medianAutomatedStoppingSpec: { useElapsedDuration: true } })).toEqual({
      kind: "median",
      useElapsedDuration: true,
    });
    expect(stoppingRuleOf({ decayCurveStoppingSpec: {} })).toEqual({
      kind: "decayCurve",
      useElapsedDuration: false,
    });
    expect(stoppingRuleOf({ medianAutomatedStoppingSpec: null })).toBeNull();
    expect(() => stoppingRuleOf({ convexAutomatedStoppingSpec: { maxStepCount: 3 } })).toThrow(RpcError);
    expect(() => stoppingRuleOf({ convexAutomatedStoppingSpec: {} })).toThrow(
      /convex_automated_stopping_spec is not emulated/,
    );
  });
});
