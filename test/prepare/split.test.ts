// Splitting: exact stratified shares per class, chronological order, determinism for a seed, and independence
// from the file's row order.
import { describe, expect, it } from "vitest";
import { assignSplits, TEST, TRAIN, VALIDATION } from "../../gpu-jobs/prepare/split.ts";
import { hash96, splitKey } from "../../gpu-jobs/prepare/identity.ts";
import { jsonl, prepareFile, reviews } from "./helpers.ts";

const SHARES = { train: 0.8, validation: 0.1, test: 0.1 };

function input(n: number, seed: number, labelOf: (i: number) => number) {
  const h = new Uint32Array(3);
  const keys = new Float64Array(n);
  const labels = new Uint8Array(n);
  const timestamps = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    hash96(`row-${i}`, h);
    keys[i] = splitKey(h[0]!, h[1]!, seed);
    labels[i] = labelOf(i);
    timestamps[i] = 1_000 * ((i * 7919) % n);
  }
  return { keys, labels, timestamps };
}

function count(splits: Uint8Array, labels: Uint8Array, label: number, split: number): number {
  let n = 0;
  for (let i = 0; i < splits.length; i++) if (labels[i] === label && splits[i] === split) n++;
  return n;
}

describe("assignSplits", () => {
  it("gives every class 80/10/10 of its own rows when stratified", () => {
    const data = input(1000, 42, (i) => (i % 10 === 0 ? 0 : i % 10 < 3 ? 1 : 2)); // 100 / 200 / 700
    const splits = assignSplits(data, "stratified", SHARES);
    expect([TRAIN, VALIDATION, TEST].map((s) => count(splits, data.labels, 0, s))).toEqual([80, 10, 10]);
    expect([TRAIN, VALIDATION, TEST].map((s) => count(splits, data.labels, 1, s))).toEqual([160, 20, 20]);
    expect([TRAIN, VALIDATION, TEST].map((s) => count(splits, data.labels, 2, s))).toEqual([560, 70, 70]);
  });

  it("is the same for the same seed and different for another", () => {
    const a = assignSplits(
      input(500, 1, (i) => i % 3),
      "stratified",
      SHARES,
    );
    const b = assignSplits(
      input(500, 1, (i) => i % 3),
      "stratified",
      SHARES,
    );
    const c = assignSplits(
      input(500, 2, (i) => i % 3),
      "stratified",
      SHARES,
    );
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("puts the newest rows in test and the next newest in validation when chronological", () => {
    const data = input(100, 42, (i) => i % 3);
    data.timestamps[5] = Number.NaN; // unknown time: treated as oldest
    const splits = assignSplits(data, "chronological", SHARES);
    const order = [...data.timestamps.keys()].sort(
      (a, b) => (data.timestamps[a] || -1) - (data.timestamps[b] || -1),
    );
    const times = (s: number) => order.filter((i) => splits[i] === s).map((i) => data.timestamps[i]!);
    expect(times(TEST)).toHaveLength(10);
    expect(times(VALIDATION)).toHaveLength(10);
    expect(Math.min(...times(TEST))).toBeGreaterThan(Math.max(...times(VALIDATION)));
    expect(Math.min(...times(VALIDATION))).toBeGreaterThan(
      Math.max(...times(TRAIN).filter((t) => !Number.isNaN(t))),
    );
    expect(splits[5]).toBe(TRAIN);
  });
});

describe("prepare's splits", () => {
  it("do not depend on the order of the rows in the file", async () => {
    const rows = reviews(200);
    const forward = await prepareFile({ name: "f.jsonl", content: jsonl(rows) });
    const backward = await prepareFile({ name: "b.jsonl", content: jsonl([...rows].reverse()) });
    const ids = (p: typeof forward) => ({
      train: p.train.map((r) => r.id).sort(),
      validation: p.validation.map((r) => r.id).sort(),
      test: p.test.map((r) => r.id).sort(),
    });
    expect(ids(backward)).toEqual(ids(forward));
  });

  it("change with the seed and repeat exactly for the same seed", async () => {
    const content = jsonl(reviews(300));
    const a = await prepareFile({ name: "s.jsonl", content }, { data: { seed: 7 } });
    const b = await prepareFile({ name: "s.jsonl", content }, { data: { seed: 7 } });
    const c = await prepareFile({ name: "s.jsonl", content }, { data: { seed: 8 } });
    expect(b.test).toEqual(a.test);
    expect(b.stats.fingerprint).toBe(a.stats.fingerprint);
    expect(c.test.map((r) => r.id)).not.toEqual(a.test.map((r) => r.id));
    expect(c.stats.fingerprint).not.toBe(a.stats.fingerprint);
  });

  it("keep the test split newest in chronological mode", async () => {
    const p = await prepareFile(
      { name: "c.jsonl", content: jsonl(reviews(100)) },
      { data: { splitMode: "chronological" } },
    );
    const newestTrain = Math.max(...p.train.map((r) => r.timestamp!));
    const oldestValidation = Math.min(...p.validation.map((r) => r.timestamp!));
    expect(oldestValidation).toBeGreaterThan(newestTrain);
    expect(Math.min(...p.test.map((r) => r.timestamp!))).toBeGreaterThan(
      Math.max(...p.validation.map((r) => r.timestamp!)),
    );
    expect(p.stats.splitMode).toBe("chronological");
  });
});
