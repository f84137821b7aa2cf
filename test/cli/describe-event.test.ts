// The demo's and watcher's progress lines: a trial count says how many trials are done, a batch which batch runs.
import { describe, expect, it } from "vitest";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { describeEvent, progressCount } from "../../emulator/describe-event.ts";
import { countOf } from "../../schemas/text.ts";

describe("progressCount", () => {
  it("counts finished trials, so the first trial's progress does not read as trial 0", () => {
    expect(progressCount({ unit: "trial", current: 0, total: 8 })).toBe("0/8 trials done");
    expect(progressCount({ unit: "trial", current: 3, total: null })).toBe("3 trials done");
  });

  it("names the batch or epoch at hand", () => {
    expect(progressCount({ unit: "batch", current: 3, total: 75 })).toBe("batch 3/75");
    expect(progressCount({ unit: "epoch", current: 2, total: null })).toBe("epoch 2");
  });
});

describe("describeEvent", () => {
  const tuned = (baseModel?: string) =>
    ({
      type: "tuning.completed",
      attempt: 1,
      data: {
        trials: 8,
        prunedTrials: 2,
        bestValue: 0.88,
        bestParams: { modelFamily: "bert", learningRate: 3e-5, batchSize: 32, epochs: 3 },
        ...(baseModel ? { baseModel } : {}),
      },
    }) as unknown as PipelineEvent;

  it("names the model the best trial trained, as the event says, over the caller's config", () => {
    expect(describeEvent(tuned("minilm"), { bert: "bert-base-uncased" })).toMatch(
      /F1 0\.880: minilm lr 3\.0e-5 /,
    );
  });

  it("falls back to the config's model for the family, then to the family, for events from older jobs", () => {
    expect(describeEvent(tuned(), { bert: "bert-base-uncased" })).toMatch(/: bert-base-uncased lr /);
    expect(describeEvent(tuned())).toMatch(/: bert lr /);
  });
});

describe("counts", () => {
  it("writes one trial in the singular", () => {
    const one = {
      type: "tuning.completed",
      attempt: 1,
      data: {
        trials: 1,
        prunedTrials: 0,
        bestValue: 0.88,
        bestParams: { modelFamily: "bert", learningRate: 1e-4, batchSize: 32, epochs: 3 },
      },
    } as unknown as PipelineEvent;
    expect(describeEvent(one)).toMatch(/a1 {2}1 trial \(0 pruned\)/);
    expect(countOf(3, "trial")).toBe("3 trials");
  });
});
