// Slices that can be judged: the row-count alternative to the share, rare values pooled into "other", crossed cells,
// the champion's F1 per slice, and what the rules make of the real sample's 29 test-split categories.
import { describe, expect, it } from "vitest";
import { LABELS } from "../../schemas/names.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { Rules } from "../../schemas/config.ts";
import { evaluateSlices, sliceReport } from "../../gpu-jobs/evaluate/slices.ts";
import { metricsOf } from "../../gpu-jobs/evaluate/metrics.ts";
import { judgeSlice, mitigationPlan } from "../../schemas/bias-rule.ts";
import { coverageHeadline, sliceCoverage } from "../../schemas/slice-coverage.ts";
import { prepareFile, sharedSamples } from "../prepare/helpers.ts";

const config = parseConfig({ evaluation: { bootstrapResamples: 50 } });

/** Rows from (slice values, count, right) groups: `right` rows predicted correctly, the rest wrongly. */
function rows(groups: { slices: Record<string, string>; count: number; wrong?: boolean }[]) {
  const yTrue: number[] = [];
  const yPred: number[] = [];
  const sliceValues: Record<string, string>[] = [];
  for (const g of groups)
    for (let i = 0; i < g.count; i += 1) {
      const t = i % 3;
      yTrue.push(t);
      yPred.push(g.wrong ? (t + 1) % 3 : t);
      sliceValues.push(g.slices);
    }
  return { yTrue, yPred, sliceValues };
}

function evaluate(data: ReturnType<typeof rows>, rules: Partial<Rules> = {}, championPred?: number[]) {
  const r = { ...config.rules, ...rules };
  const overall = metricsOf(data.yTrue, data.yPred, LABELS);
  const evaluated = evaluateSlices({
    ...data,
    labels: LABELS,
    overall,
    rules: r,
    evaluation: config.evaluation,
    championPred: championPred ?? null,
  });
  return { evaluated, report: sliceReport(evaluated, overall.weightedF1, r, config.evaluation), overall };
}

const named = (s: { column: string; value: string }) => `${s.column}=${s.value}`;

describe("slices: the row-count rule", () => {
  // 30 of 400 rows (7.5%): under the 10% share, judged once minSliceRows allows it.
  const data = rows([
    { slices: { year: "2020", main_category: "Books" }, count: 370 },
    { slices: { year: "2020", main_category: "Toys" }, count: 30, wrong: true },
  ]);

  it("leaves a slice under minSliceShare unjudged by default, as the original rule does", () => {
    const toys = evaluate(data).report.slices.find((s) => s.value === "Toys")!;
    expect(toys).toMatchObject({ support: 30, judged: false, biased: false });
  });

  it("judges a slice holding at least minSliceRows rows (inclusive) whatever its share", () => {
    const at = evaluate(data, { minSliceRows: 30 }).report.slices.find((s) => s.value === "Toys")!;
    expect(at).toMatchObject({ support: 30, judged: true, biased: true });
    const above = evaluate(data, { minSliceRows: 31 }).report.slices.find((s) => s.value === "Toys")!;
    expect(above).toMatchObject({ judged: false, biased: false });
    expect(evaluate(data, { minSliceRows: 31 }).report.threshold.minSliceRows).toBe(31);
  });

  it("is read from MIN_SLICE_ROWS and refuses a row count below 1", () => {
    expect(parseConfig({}).rules.minSliceRows).toBeUndefined();
    expect(parseConfig({ rules: { minSliceRows: 25 } }).rules.minSliceRows).toBe(25);
    expect(() => parseConfig({ rules: { minSliceRows: 0 } })).toThrow(/minSliceRows/);
  });

  it("judges the same way from the event's slices (decide) as from the file's", () => {
    const { report } = evaluate(data, { minSliceRows: 30 });
    const toys = report.slices.find((s) => s.value === "Toys")!;
    const again = judgeSlice(toys, report.overallF1, { ...config.rules, minSliceRows: 30 });
    expect([again.judged, again.biased]).toEqual([true, true]);
  });
});

describe("slices: rare values pooled into 'other'", () => {
  const data = rows([
    { slices: { year: "2020", main_category: "Books" }, count: 200 },
    { slices: { year: "2021", main_category: "Books" }, count: 120 },
    { slices: { year: "2016", main_category: "Books" }, count: 20, wrong: true },
    { slices: { year: "2017", main_category: "Books" }, count: 20, wrong: true },
    { slices: { year: "2018", main_category: "Books" }, count: 20 },
    { slices: { year: "2019", main_category: "Books" }, count: 20 },
  ]);

  it("pools every value under the threshold into one judged slice that names its values", () => {
    const { report } = evaluate(data);
    const other = report.slices.find((s) => s.column === "year" && s.kind === "other")!;
    expect(other).toMatchObject({
      value: "other",
      support: 80,
      share: 0.2,
      judged: true,
      where: [{ column: "year", values: ["2016", "2017", "2018", "2019"] }],
    });
    // Half its rows are wrong: F1 well under 0.9 x overall, so it is biased, though no year in it could be judged.
    expect(other.biased).toBe(true);
    const pooled = data.yTrue.flatMap((_, i) => (Number(data.sliceValues[i]!.year) < 2020 ? [i] : []));
    const f1 = metricsOf(
      pooled.map((i) => data.yTrue[i]!),
      pooled.map((i) => data.yPred[i]!),
      LABELS,
    ).weightedF1;
    expect(other.f1).toBeCloseTo(f1, 12);
    expect(other.f1Interval!.low).toBeLessThanOrEqual(other.f1Interval!.high);
    expect(report.slices.filter((s) => s.column === "year").map((s) => s.value)).toEqual([
      "2016",
      "2017",
      "2018",
      "2019",
      "2020",
      "2021",
      "other",
    ]);
  });

  it("hands the pooled values to the mitigated re-training, so it up-weights exactly those rows", () => {
    const { report } = evaluate(data);
    const other = report.slices.find((s) => s.kind === "other")!;
    const plan = mitigationPlan(
      [{ ...other, judged: true }],
      report.overallF1,
      parseConfig({}).mitigation,
      1,
    )!;
    expect(plan.slices[0]).toMatchObject({
      column: "year",
      value: "other",
      where: [{ column: "year", values: ["2016", "2017", "2018", "2019"] }],
    });
  });

  it("pools nothing when grouping is off, when one value alone is rare, or when every value is", () => {
    expect(evaluate(data, { groupRareSlices: false }).report.slices.some((s) => s.kind === "other")).toBe(
      false,
    );
    const oneRare = rows([
      { slices: { year: "2020" }, count: 90 },
      { slices: { year: "2016" }, count: 5 },
    ]);
    expect(evaluate(oneRare).report.slices.some((s) => s.kind === "other")).toBe(false);
    // main_category is one value here: judged, nothing to pool. Every year rare: "other" would be every row.
    const allRare = rows(
      Array.from({ length: 12 }, (_, i) => ({
        slices: { year: String(2010 + i), main_category: "A" },
        count: 10,
      })),
    );
    expect(evaluate(allRare).report.slices.some((s) => s.kind === "other")).toBe(false);
  });

  it("names the pooled slice apart from a real value called 'other'", () => {
    const clash = rows([
      { slices: { main_category: "Books" }, count: 100 },
      { slices: { main_category: "other" }, count: 4 },
      { slices: { main_category: "Toys" }, count: 4 },
    ]);
    const other = evaluate(clash, { sliceColumns: ["main_category"] }).report.slices.find(
      (s) => s.kind === "other",
    )!;
    expect(other.value).toBe("other (pooled)");
    expect(other.where).toEqual([{ column: "main_category", values: ["Toys", "other"] }]);
  });
});

describe("slices: crossed columns", () => {
  const data = rows([
    { slices: { year: "2021", main_category: "Books" }, count: 60, wrong: true },
    { slices: { year: "2021", main_category: "Toys" }, count: 140 },
    { slices: { year: "2022", main_category: "Books" }, count: 190 },
    { slices: { year: "2022", main_category: "Toys" }, count: 10 },
  ]);

  it("reports the year x main_category cells large enough to be judged, each naming both values", () => {
    const { report } = evaluate(data);
    const cells = report.slices.filter((s) => s.kind === "cross");
    expect(cells.map(named)).toEqual([
      "year × main_category=2021 × Books",
      "year × main_category=2021 × Toys",
      "year × main_category=2022 × Books",
    ]);
    expect(cells[0]).toMatchObject({
      support: 60,
      judged: true,
      biased: true,
      where: [
        { column: "year", values: ["2021"] },
        { column: "main_category", values: ["Books"] },
      ],
    });
    // 2022 x Toys holds 10 of 400 rows: too few to judge, counted but not reported.
    expect(report.crosses).toEqual([{ columns: ["year", "main_category"], cells: 4, judged: 3 }]);
  });

  it("judges a crossed cell under the row-count rule too, and crosses nothing when crossing is off", () => {
    expect(
      evaluate(data, { minSliceRows: 10 })
        .report.slices.filter((s) => s.kind === "cross")
        .map((s) => s.value),
    ).toContain("2022 × Toys");
    const off = evaluate(data, { crossSlices: false }).report;
    expect(off.slices.some((s) => s.kind === "cross")).toBe(false);
    expect(off.crosses).toEqual([]);
  });
});

describe("slices: the champion beside each slice", () => {
  it("computes the champion's F1 on each slice's own rows", () => {
    const data = rows([
      { slices: { year: "2021", main_category: "Books" }, count: 60 },
      { slices: { year: "2022", main_category: "Toys" }, count: 60 },
    ]);
    // The champion gets every 2022 row wrong and every 2021 row right.
    const champion = data.yTrue.map((t, i) => (data.sliceValues[i]!.year === "2022" ? (t + 1) % 3 : t));
    const { report } = evaluate(data, {}, champion);
    const by = Object.fromEntries(report.slices.map((s) => [named(s), s.championF1]));
    expect(by["year=2021"]).toBe(1);
    expect(by["year=2022"]).toBe(0);
    expect(report.slices.find((s) => s.value === "2022")!.f1).toBe(1);
    expect(evaluate(data).report.slices.every((s) => s.championF1 === null)).toBe(true);
  });
});

const samples = sharedSamples();
describe.skipIf(samples === null)("slices on the real sample's test split", () => {
  if (samples === null) {
    console.warn("skipping the real-sample slice tests: ../shared/data not found and REVIEWS_SAMPLE not set");
    return;
  }
  it("judges no category under the default rule and says so; a row count judges the biggest ones", async () => {
    const prepared = await prepareFile(samples.jsonl);
    const test = prepared.test;
    // Synthetic predictions: every seventh review wrong.
    const data = {
      yTrue: test.map((r) => r.labelId),
      yPred: test.map((r, i) => (i % 7 === 0 ? (r.labelId + 1) % 3 : r.labelId)),
      sliceValues: test.map((r) => r.slices),
    };
    const { report } = evaluate(data);
    const categories = report.slices.filter((s) => s.column === "main_category");
    const largest = Math.max(...categories.map((s) => s.support));
    // No category holds 10% of the test rows, and pooling them all would be every row: nothing to judge.
    expect(largest / test.length).toBeLessThan(0.1);
    expect(categories.every((s) => s.kind === "value" && !s.judged)).toBe(true);
    expect(report.slices.filter((s) => s.kind === "cross" && s.judged)).toEqual([]);
    // The years are judged as before, and the years under 10% are judged together as "other".
    const years = report.slices.filter((s) => s.column === "year" && s.judged);
    expect(years.map((s) => s.value)).toContain("other");
    expect(years.filter((s) => s.kind === "value").every((s) => s.share >= 0.1)).toBe(true);
    const findings = report.slices.map((s) => ({ ...s, judged: s.judged === true }));
    const coverage = sliceCoverage(findings, config.rules.sliceColumns);
    expect(coverageHeadline(coverage)).toBe("no main_category slice could be judged");
    expect(coverage.unjudged[0]).toMatchObject({
      column: "main_category",
      values: categories.length,
      judged: 0,
    });

    // Under a row count of 20, the categories with 20 test rows or more are judged, the rest pooled into "other".
    const byRows = evaluate(data, { minSliceRows: 20 }).report;
    const judged = byRows.slices.filter((s) => s.column === "main_category" && s.judged);
    const big = categories.filter((s) => s.support >= 20).map((s) => s.value);
    expect(big.length).toBeGreaterThan(0);
    expect(judged.map((s) => s.value)).toEqual([...big, "other"]);
    const other = judged.at(-1)!;
    expect(other.support).toBe(
      test.length - categories.filter((s) => s.support >= 20).reduce((n, s) => n + s.support, 0),
    );
    const after = sliceCoverage(
      byRows.slices.map((s) => ({ ...s, judged: s.judged === true })),
      config.rules.sliceColumns,
    );
    expect(coverageHeadline(after)).toBeNull();
  });
});
