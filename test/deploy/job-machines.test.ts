// The dry run shows the worker pools each step's custom job gets, so a multi-GPU training's quota and cost are visible before a run.
import { describe, expect, it } from "vitest";
import { renderJobMachines } from "../../deploy/plan/job-machines.ts";
import { jobSettingsLines } from "../../deploy/plan/job-settings.ts";
import { parseConfig } from "../../schemas/load-config.ts";

describe("the deploy plan's job machines", () => {
  it("prints the chief and worker pools of a 2-replica, 4-GPU training and the GPUs it needs", () => {
    const config = parseConfig({
      machines: {
        train: {
          machineType: "g2-standard-48",
          acceleratorType: "NVIDIA_L4",
          acceleratorCount: 4,
          replicaCount: 2,
        },
      },
    });
    const text = renderJobMachines(config);
    const train = text.split("\n").find((l) => l.startsWith("#   train:"));
    expect(train).toContain(
      "workerPoolSpecs[0] 1 x g2-standard-48 + 4 x NVIDIA_L4 (chief); workerPoolSpecs[1] 1 x g2-standard-48 + 4 x NVIDIA_L4 (workers)",
    );
    expect(train).toContain("data-parallel over 8 processes (torchrun, NCCL); restartJobOnWorkerRestart");
    expect(text).toContain("at least 8 GPUs");
    // The plan's head says the same of the train job in one line.
    expect(jobSettingsLines(config)).toContain(
      "train job: g2-standard-48 + 4x NVIDIA_L4 x 2 machines, data-parallel over 8 processes, timeout 21600s",
    );
    // Every line is a comment: the dry run stays a script that runs.
    expect(
      text
        .trimEnd()
        .split("\n")
        .every((l) => l.startsWith("#")),
    ).toBe(true);
  });

  it("shows one pool for a single-GPU training", () => {
    const train = renderJobMachines(parseConfig({}))
      .split("\n")
      .find((l) => l.startsWith("#   train:"));
    expect(train).toMatch(
      /^# {3}train: workerPoolSpecs\[0\] 1 x g2-standard-8 \+ 1 x NVIDIA_L4 \(chief\); on-demand/,
    );
  });
});
