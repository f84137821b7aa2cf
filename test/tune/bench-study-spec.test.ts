// The search-quality benchmark's TypeScript half: the trial arguments it hands the trainer and the stand-in's picks.
import { describe, expect, it } from "vitest";
import { studySpecDocument } from "../../bench/tuning/study-spec.ts";
import { argsToInput } from "../../gpu-jobs/specs/job-args.ts";
import { PipelineConfig } from "../../schemas/config.ts";

describe("the search-quality benchmark's study document", () => {
  const doc = studySpecDocument({ scenarios: ["clean", "lowf1"], seeds: [1, 2], trials: 5, model: "tiny" });

  it("renders each scenario's tune arguments as the tune job parses them, over the default search space", () => {
    const parsed = argsToInput("tune", doc.tuneArgs.lowf1!.slice(1));
    const defaults = PipelineConfig.parse({}).search;
    expect(parsed.dataDir).toBe("gs://sp-bench/runs/bench-lowf1/prepare/a1");
    expect(parsed.models).toEqual({ bert: "tiny", roberta: "tiny" });
    expect(parsed.search).toEqual({ ...defaults, trials: 5 });
  });

  it("gives every seed the stand-in's own picks: inside the space, different per seed, the same for the same seed", () => {
    const s = doc.search;
    expect(Object.keys(doc.standIn)).toEqual(["1", "2"]);
    for (const picks of Object.values(doc.standIn)) {
      expect(picks).toHaveLength(5);
      for (const p of picks) {
        expect(p.model_family).toBe("bert");
        expect(Number(p.learning_rate)).toBeGreaterThanOrEqual(s.learningRate.low);
        expect(Number(p.learning_rate)).toBeLessThanOrEqual(s.learningRate.high);
        expect(s.batchSizes).toContain(p.batch_size);
        expect(Number.isInteger(p.epochs)).toBe(true);
      }
    }
    expect(doc.standIn["1"]).not.toEqual(doc.standIn["2"]);
    const again = studySpecDocument({ scenarios: ["clean"], seeds: [1], trials: 5, model: "tiny" });
    expect(again.standIn["1"]).toEqual(doc.standIn["1"]);
  });
});
