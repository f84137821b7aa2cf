// The demo's and watcher's progress lines: a trial count says how many trials are done, a batch which batch runs.
import { describe, expect, it } from "vitest";
import { progressCount } from "../../emulator/describe-event.ts";

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
