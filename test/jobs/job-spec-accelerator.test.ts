// The job spec tells the job which accelerator it asked for, so the trainer can refuse to train on the CPU at GPU prices.
import { describe, expect, it } from "vitest";
import { acceleratorEnv, buildJobSpec } from "../../gpu-jobs/specs/build-job-spec.ts";
import { initialState } from "../../functions/core/run-state.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import * as ev from "../support/events.ts";

describe("the job spec's accelerator", () => {
  const config = parseConfig({});

  it("names the GPU type and count of a GPU machine", () => {
    expect(acceleratorEnv(config.machines.train)).toEqual({ SP_ACCELERATOR: "NVIDIA_L4x1" });
    expect(
      acceleratorEnv({ ...config.machines.train, acceleratorType: "NVIDIA_TESLA_A100", acceleratorCount: 2 }),
    ).toEqual({ SP_ACCELERATOR: "NVIDIA_TESLA_A100x2" });
  });

  it("says nothing for a CPU machine, so a CPU job never refuses to start", () => {
    const spec = buildJobSpec(config, initialState(ev.runStarted()), "prepare", 1);
    expect(spec.env).not.toHaveProperty("SP_ACCELERATOR");
    expect(acceleratorEnv({ ...config.machines.train, acceleratorCount: 0 })).toEqual({});
  });
});
