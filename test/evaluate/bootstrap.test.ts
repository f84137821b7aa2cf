// The slice bootstrap: numpy's quantiles, seeded repeatability, and intervals that separate a real gap from noise.
import { describe, expect, it } from "vitest";
import { bootstrapColumn, quantile } from "../../gpu-jobs/evaluate/bootstrap.ts";
import { evaluateSlices } from "../../gpu-jobs/evaluate/slices.ts";
import { metricsOf } from "../../gpu-jobs/evaluate/metrics.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { LABELS } from "../../schemas/names.ts";

const settings = { resamples: 1000, confidence: 0.95, seed: 42 };

/** Codes (true * 3 + predicted) for n rows, `wrong` of them mispredicted, classes cycling. */
function rows(n: number, wrong: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const t = i % 3;
    return t * 3 + (i < wrong ? (t + 1) % 3 : t);
  });
}

function column(...groups: number[][]): { codes: Uint8Array; slices: number[][] } {
  const codes = Uint8Array.from(groups.flat());
  let start = 0;
  const slices = groups.map((g) => {
    const idx = g.map((_, i) => start + i);
    start += g.length;
    return idx;
  });
  return { codes, slices };
}

describe("quantile", () => {
  it("interpolates linearly between order statistics as numpy.quantile does", () => {
    // numpy.quantile([1, 2, 3, 4], [0.025, 0.5, 0.975]) -> [1.075, 2.5, 3.925]
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
    expect(quantile([1, 2, 3, 4], 0.5)).toBeCloseTo(2.5, 12);
    expect(quantile([1, 2, 3, 4], 0.975)).toBeCloseTo(3.925, 12);
    expect(quantile([7], 0.3)).toBe(7);
  });
});

describe("bootstrapColumn", () => {
  it("repeats itself for a seed and differs for another", () => {
    const { codes, slices } = column(rows(60, 10), rows(40, 12));
    expect(bootstrapColumn(codes, slices, 3, settings)).toEqual(bootstrapColumn(codes, slices, 3, settings));
    expect(bootstrapColumn(codes, slices, 3, { ...settings, seed: 43 })).not.toEqual(
      bootstrapColumn(codes, slices, 3, settings),
    );
  });

  it("gives no intervals when resampling is off", () => {
    const { codes, slices } = column(rows(10, 2), rows(10, 3));
    expect(bootstrapColumn(codes, slices, 3, { ...settings, resamples: 0 })).toEqual([
      { f1: null, ratio: null },
      { f1: null, ratio: null },
    ]);
  });

  it("brackets each slice's F1 and ratio, and puts a clearly worse slice's ratio wholly below 0.9", () => {
    const { codes, slices } = column(rows(300, 15), rows(200, 100));
    const [good, bad] = bootstrapColumn(codes, slices, 3, settings);
    const f1 = (g: number[]) =>
      metricsOf(
        g.map((c) => Math.floor(c / 3)),
        g.map((c) => c % 3),
        LABELS,
      ).weightedF1;
    const goodF1 = f1(rows(300, 15));
    const badF1 = f1(rows(200, 100));
    expect(good!.f1!.low).toBeLessThan(goodF1);
    expect(good!.f1!.high).toBeGreaterThan(goodF1);
    expect(bad!.f1!.low).toBeLessThan(badF1);
    expect(bad!.f1!.high).toBeGreaterThan(badF1);
    expect(bad!.ratio!.high).toBeLessThan(0.9);
    expect(good!.ratio!.low).toBeGreaterThan(1);
  });

  it("gives a small slice with a small gap an interval that reaches past the threshold (noise, not bias)", () => {
    const { codes, slices } = column(rows(400, 40), rows(25, 5));
    const [, small] = bootstrapColumn(codes, slices, 3, settings);
    expect(small!.ratio!.low).toBeLessThan(0.9);
    expect(small!.ratio!.high).toBeGreaterThan(0.9);
  });

  it("widens with higher confidence", () => {
    const { codes, slices } = column(rows(100, 20), rows(100, 30));
    const [a] = bootstrapColumn(codes, slices, 3, { ...settings, confidence: 0.8 });
    const [b] = bootstrapColumn(codes, slices, 3, { ...settings, confidence: 0.99 });
    expect(b!.f1!.high - b!.f1!.low).toBeGreaterThan(a!.f1!.high - a!.f1!.low);
  });
});

describe("evaluateSlices", () => {
  const config = parseConfig({ evaluation: { bootstrapResamples: 200 } });

  it("puts rows without a column's value in the 'unknown' slice and orders years numerically", () => {
    const yTrue = [0, 1, 2, 2, 2, 0];
    const yPred = [0, 1, 2, 0, 2, 0];
    const sliceValues = [
      { year: "2019" },
      { year: "2020" },
      { year: "999" },
      {},
      { year: "2020", main_category: "Books" },
      { year: "2019" },
    ];
    const overall = metricsOf(yTrue, yPred, LABELS);
    const out = evaluateSlices({
      yTrue,
      yPred,
      sliceValues,
      labels: LABELS,
      overall,
      rules: config.rules,
      evaluation: config.evaluation,
    }).slices.filter((s) => s.kind === "value");
    expect(out.map((s) => `${s.column}=${s.value}:${s.support}`)).toEqual([
      "year=999:1",
      "year=2019:2",
      "year=2020:2",
      "year=unknown:1",
      "main_category=Books:1",
      "main_category=unknown:5",
    ]);
    expect(out.reduce((a, s) => a + (s.column === "year" ? s.share : 0), 0)).toBeCloseTo(1, 12);
  });

  it("keeps one column's intervals when another column is added", () => {
    const yTrue = Array.from({ length: 90 }, (_, i) => i % 3);
    const yPred = yTrue.map((t, i) => (i % 7 === 0 ? (t + 1) % 3 : t));
    const sliceValues = yTrue.map((_, i) => ({
      year: String(2020 + (i % 3)),
      main_category: i % 2 ? "A" : "B",
    }));
    const overall = metricsOf(yTrue, yPred, LABELS);
    const base = { yTrue, yPred, sliceValues, labels: LABELS, overall, evaluation: config.evaluation };
    const yearOnly = evaluateSlices({ ...base, rules: { ...config.rules, sliceColumns: ["year"] } }).slices;
    const both = evaluateSlices({
      ...base,
      rules: { ...config.rules, sliceColumns: ["year", "main_category"] },
    }).slices;
    expect(both.slice(0, yearOnly.length)).toEqual(yearOnly);
  });
});
