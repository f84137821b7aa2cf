// Grouping a gathered batch into ONNX runs by length: every row once, runs padded to their longest row, at most
// maxRows each, and the least padded tokens plus run cost (checked against every possible grouping on small inputs).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planByLength } from "../../serving/length-batches.ts";
import { loadModel, encodeReviews, runEncoded } from "../../gpu-jobs/inference/index.ts";
import { golden, TINY_MODEL } from "../inference/model-fixture.ts";

const cost = (batches: { rows: number[]; length: number }[], runCost: number): number =>
  batches.reduce((t, b) => t + runCost + b.length * b.rows.length, 0);

/** The least cost over every split of the length-sorted rows into runs of at most maxRows. */
function bruteForce(lengths: number[], maxRows: number, runCost: number): number {
  const sorted = [...lengths].map((l) => Math.max(1, l)).sort((a, b) => b - a);
  const go = (start: number): number => {
    if (start === sorted.length) return 0;
    let best = Infinity;
    for (let end = start + 1; end <= Math.min(sorted.length, start + maxRows); end++) {
      best = Math.min(best, runCost + sorted[start]! * (end - start) + go(end));
    }
    return best;
  };
  return go(0);
}

describe("planByLength", () => {
  it("keeps rows of similar length together and runs a long one apart", () => {
    const plan = planByLength([9, 128, 10, 9, 11], 64, 8);
    expect(plan).toEqual([
      { rows: [1], length: 128 },
      { rows: [4, 2, 0, 3], length: 11 },
    ]);
  });

  it("puts equal lengths in one run, splitting only at maxRows", () => {
    const plan = planByLength(
      Array.from({ length: 10 }, () => 40),
      4,
      8,
    );
    expect(plan.map((b) => b.rows.length)).toEqual([2, 4, 4]);
    expect(plan.every((b) => b.length === 40)).toBe(true);
  });

  it("answers an empty batch with no runs", () => {
    expect(planByLength([], 8)).toEqual([]);
  });

  it("places every row once, pads each run to its longest row, and finds the cheapest grouping", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 128 }), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 40 }),
        (lengths, maxRows, runCost) => {
          const plan = planByLength(lengths, maxRows, runCost);
          const rows = plan.flatMap((b) => b.rows).sort((a, b) => a - b);
          expect(rows).toEqual(lengths.map((_, i) => i));
          for (const b of plan) {
            expect(b.rows.length).toBeLessThanOrEqual(maxRows);
            expect(b.length).toBe(Math.max(1, ...b.rows.map((r) => lengths[r]!)));
          }
          expect(cost(plan, runCost)).toBe(bruteForce(lengths, maxRows, runCost));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("runEncoded with a custom plan", () => {
  it("gives the same logits as the default plan", async () => {
    const model = await loadModel(TINY_MODEL, { provider: "cpu", threads: 1 });
    try {
      const g = golden();
      const rows = await encodeReviews(model, g.examples);
      const byDefault = await runEncoded(model, rows);
      const byLength = await runEncoded(model, rows, { plan: (l) => planByLength(l, 2) });
      expect(Array.from(byLength).map((v) => v.toFixed(5))).toEqual(
        Array.from(byDefault).map((v) => v.toFixed(5)),
      );
    } finally {
      await model.release();
    }
  });

  it("refuses a plan that leaves a row out, repeats one, or pads a row short", async () => {
    const model = await loadModel(TINY_MODEL, { provider: "cpu", threads: 1 });
    try {
      const rows = await encodeReviews(model, golden().examples.slice(0, 3));
      const long = Math.max(...rows.map((r) => r.ids.length));
      await expect(runEncoded(model, rows, { plan: () => [{ rows: [0, 1], length: long }] })).rejects.toThrow(
        "leaves rows out",
      );
      await expect(
        runEncoded(model, rows, { plan: () => [{ rows: [0, 1, 2, 2], length: long }] }),
      ).rejects.toThrow("places row 2 wrongly");
      await expect(runEncoded(model, rows, { plan: () => [{ rows: [0, 1, 2], length: 2 }] })).rejects.toThrow(
        "pads to 2 tokens a row of",
      );
    } finally {
      await model.release();
    }
  });
});
