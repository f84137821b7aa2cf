// The inference module's spinWait setting (added for serving): a session whose idle threads sleep gives the same
// logits as the default one.
import { describe, expect, it } from "vitest";
import { loadModel, predict } from "../../gpu-jobs/inference/index.ts";
import { golden, TINY_MODEL } from "../inference/model-fixture.ts";

describe("loadModel with spinWait false", () => {
  it("opens a session that predicts the golden logits", async () => {
    const g = golden();
    const model = await loadModel(TINY_MODEL, { provider: "cpu", threads: 2, spinWait: false });
    try {
      const out = await predict(model, g.examples);
      out.forEach((p, i) => p.logits.forEach((v, k) => expect(v).toBeCloseTo(g.examples[i]!.logits[k]!, 4)));
    } finally {
      await model.release();
    }
  });
});
