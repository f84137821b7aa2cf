// Length-sorted batches and their padded feeds.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { batchFeeds, planBatches } from "../../gpu-jobs/inference/index.ts";

describe("planBatches", () => {
  it("takes every row exactly once, longest first, at most batchSize per batch, padded to its longest", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 512 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 70 }),
        (lengths, size) => {
          const batches = planBatches(lengths, size);
          const seen = batches.flatMap((b) => b.rows);
          expect([...seen].sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
          expect(batches.every((b) => b.rows.length <= size && b.rows.length > 0)).toBe(true);
          const order = seen.map((r) => lengths[r]!);
          expect(order).toEqual([...order].sort((a, b) => b - a));
          for (const b of batches) expect(b.length).toBe(Math.max(...b.rows.map((r) => lengths[r]!)));
        },
      ),
    );
  });

  it("refuses a batch size below 1", () => {
    expect(() => planBatches([3], 0)).toThrow(/positive integer/);
  });
});

describe("batchFeeds", () => {
  it("pads ids with the pad id, masks the padding and keeps features in row order", () => {
    const rows = [
      { ids: Int32Array.from([2, 5, 3]), features: [0.1, 1, 0, 1] },
      { ids: Int32Array.from([2, 7, 8, 9, 3]), features: [0.2, 0, 0.5, 0] },
    ];
    const feeds = batchFeeds(
      ["input_ids", "attention_mask", "token_type_ids", "features"],
      rows,
      { rows: [1, 0], length: 5 },
      0,
      4,
    );
    expect(feeds.input_ids!.dims).toEqual([2, 5]);
    expect([...(feeds.input_ids!.data as BigInt64Array)].map(Number)).toEqual([2, 7, 8, 9, 3, 2, 5, 3, 0, 0]);
    expect([...(feeds.attention_mask!.data as BigInt64Array)].map(Number)).toEqual([
      1, 1, 1, 1, 1, 1, 1, 1, 0, 0,
    ]);
    expect([...(feeds.token_type_ids!.data as BigInt64Array)].map(Number)).toEqual(new Array(10).fill(0));
    expect([...(feeds.features!.data as Float32Array)]).toEqual(
      [0.2, 0, 0.5, 0, 0.1, 1, 0, 1].map(Math.fround),
    );
  });

  it("feeds only the inputs the model takes", () => {
    const feeds = batchFeeds(
      ["input_ids", "attention_mask"],
      [{ ids: Int32Array.from([2, 3]), features: null }],
      { rows: [0], length: 2 },
      1,
      4,
    );
    expect(Object.keys(feeds).sort()).toEqual(["attention_mask", "input_ids"]);
  });
});
