// The spec builder refuses a run state that lacks what the step's input is built from, and the core's rule agrees.
import { describe, expect, it } from "vitest";
import { buildJobSpec } from "../../gpu-jobs/specs/build-job-spec.ts";
import { initialState } from "../../functions/core/run-state.ts";
import { missingPrerequisite } from "../../functions/core/step-prerequisites.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { JobStep } from "../../schemas/names.ts";
import * as ev from "../support/events.ts";

describe("a job spec's prerequisites", () => {
  const config = parseConfig({});
  const fresh = initialState(ev.runStarted());
  const prepared = {
    ...fresh,
    artifacts: {
      ...fresh.artifacts,
      prepared: {
        dataDir: "gs://b/d",
        statsUri: "gs://b/d/s",
        rowsKept: 9,
        rowsRejected: 0,
        fingerprint: "f",
      },
    },
  };

  it.each([
    ["tune", fresh, "prepared data"],
    ["train", fresh, "prepared data"],
    ["train", prepared, "tuning result"],
    ["evaluate", prepared, "trained model"],
  ] as const)("refuses to build %s when the run has no %s", (step, state, what) => {
    expect(() => buildJobSpec(config, state, step as JobStep, 1)).toThrow(
      `cannot build the ${step} job of ${ev.RUN}: the run has no ${what}`,
    );
    expect(missingPrerequisite(state, step)).toBe(`the run has no ${what}`);
  });

  it("builds prepare from a fresh run and tune once the data is prepared", () => {
    expect(missingPrerequisite(fresh, "prepare")).toBeNull();
    expect(buildJobSpec(config, fresh, "prepare", 1).step).toBe("prepare");
    expect(missingPrerequisite(prepared, "tune")).toBeNull();
    expect(buildJobSpec(config, prepared, "tune", 1).args).toContain("--data-dir");
  });
});
