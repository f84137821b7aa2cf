// The error analysis against scikit-learn (precision-recall, average precision) and numpy (calibration error), and
// the bounds and hostile-text handling of what the evaluate job writes for the report.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANALYSIS_LIMITS, ErrorAnalysis } from "../../schemas/error-analysis.ts";
import {
  averagePrecision,
  calibration,
  errorAnalysis,
  precisionRecallCurve,
  shorten,
  type AnalysedRow,
} from "../../gpu-jobs/evaluate/error-analysis.ts";
import { REPO_ROOT, trainerPython } from "../inference/python-env.ts";

interface Case {
  name: string;
  yTrue: number[];
  probabilities: number[][];
  curves: {
    positives: number;
    averagePrecision: number | null;
    precision: number[] | null;
    recall: number[] | null;
  }[];
  calibration: {
    bins: {
      low: number;
      high: number;
      count: number;
      accuracy: number | null;
      confidence: number | null;
    }[];
    ece: number;
    mce: number;
  };
}
const expected = JSON.parse(
  readFileSync(join(REPO_ROOT, "test/fixtures/metrics/sklearn-error-analysis.json"), "utf8"),
) as { cases: Case[] };
const cases = expected.cases.map((c) => [c.name, c] as const);

describe("error analysis, cross-checked with scikit-learn", () => {
  it.each(cases)("gives scikit-learn's precision-recall curve and average precision for %s", (_, c) => {
    c.curves.forEach((want, cls) => {
      if (want.precision === null) return;
      const positives = c.yTrue.map((t) => (t === cls ? 1 : 0));
      const curve = precisionRecallCurve(
        positives,
        c.probabilities.map((p) => p[cls]!),
      );
      expect(curve.recall.length, `class ${cls} points`).toBe(want.recall!.length);
      curve.precision.forEach((p, i) =>
        expect(p, `class ${cls} precision ${i}`).toBeCloseTo(want.precision![i]!, 12),
      );
      curve.recall.forEach((r, i) => expect(r, `class ${cls} recall ${i}`).toBeCloseTo(want.recall![i]!, 12));
      expect(averagePrecision(curve), `class ${cls} AP`).toBeCloseTo(want.averagePrecision!, 12);
    });
  });

  it.each(cases)("gives numpy's reliability bins and expected calibration error for %s", (_, c) => {
    const got = calibration(c.yTrue, c.probabilities.flat(), 3, 10);
    expect(got.bins.map((b) => b.count)).toEqual(c.calibration.bins.map((b) => b.count));
    got.bins.forEach((b, i) => {
      const want = c.calibration.bins[i]!;
      expect(b.low).toBeCloseTo(want.low, 15);
      expect(b.high).toBeCloseTo(want.high, 15);
      if (want.accuracy === null) expect(b.accuracy).toBeNull();
      else expect(b.accuracy).toBeCloseTo(want.accuracy, 12);
      if (want.confidence === null) expect(b.confidence).toBeNull();
      else expect(b.confidence).toBeCloseTo(want.confidence, 12);
    });
    expect(got.ece).toBeCloseTo(c.calibration.ece, 12);
    expect(got.mce).toBeCloseTo(c.calibration.mce, 12);
  });

  it("the analysis of a case carries the same average precision per class, null for a class never true", () => {
    const c = expected.cases.find((x) => x.name === "a class never true")!;
    const rows: AnalysedRow[] = c.yTrue.map((labelId, i) => ({
      id: `r${i}`,
      line: i + 1,
      title: "",
      text: "t",
      labelId,
    }));
    const a = errorAnalysis(rows, c.probabilities.flat());
    expect(a.precisionRecall.map((p) => p.averagePrecision)).toEqual([
      expect.closeTo(c.curves[0]!.averagePrecision!, 6),
      null,
      expect.closeTo(c.curves[2]!.averagePrecision!, 6),
    ]);
    expect(a.precisionRecall[1]!.points).toEqual([]);
  });

  it("keeps the committed answers current (reruns the script when the trainer venv is there)", (ctx) => {
    const python = trainerPython();
    if (python.path === null) return ctx.skip(python.skip);
    const out = execFileSync(
      python.path,
      [join(REPO_ROOT, "test/evaluate/py/sklearn_error_analysis_expected.py"), "--check"],
      { encoding: "utf8" },
    );
    expect(out).toContain("matches scikit-learn");
  });
});

describe("error analysis", () => {
  /** n rows cycling through the classes; row i is predicted (i + shift) % 3 with confidence from `conf(i)`. */
  function rowsAndProbabilities(n: number, shift: (i: number) => number, conf: (i: number) => number) {
    const rows: AnalysedRow[] = [];
    const probabilities: number[] = [];
    for (let i = 0; i < n; i += 1) {
      const labelId = i % 3;
      rows.push({ id: `id-${i}`, line: i + 1, title: `title ${i}`, text: `text of row ${i}`, labelId });
      const predicted = (labelId + shift(i)) % 3;
      const p = [0, 0, 0].map((_, c) => (c === predicted ? conf(i) : (1 - conf(i)) / 2));
      probabilities.push(...p);
    }
    return { rows, probabilities };
  }

  it("keeps the most confident mistakes of each true class, most confident first, and no correct row", () => {
    const { rows, probabilities } = rowsAndProbabilities(
      60,
      (i) => (i % 2 === 0 ? 0 : 1 + (i % 4 === 1 ? 0 : 1)),
      (i) => 0.4 + (i % 50) / 100,
    );
    const a = errorAnalysis(rows, probabilities);
    for (const label of ["NEGATIVE", "NEUTRAL", "POSITIVE"]) {
      const mine = a.mistakes.filter((m) => m.label === label);
      expect(mine).toHaveLength(ANALYSIS_LIMITS.mistakesPerClass);
      expect(mine.every((m) => m.predicted !== m.label)).toBe(true);
      const confidences = mine.map((m) => m.confidence);
      expect(confidences).toEqual([...confidences].sort((x, y) => y - x));
      // Nothing left out was more confident than the least confident kept.
      const wrongOfClass = rows
        .map((r, i) => ({ r, i }))
        .filter(({ r, i }) => r.labelId === ["NEGATIVE", "NEUTRAL", "POSITIVE"].indexOf(label) && i % 2 === 1)
        .map(({ i }) => 0.4 + (i % 50) / 100);
      expect(Math.min(...confidences)).toBeCloseTo([...wrongOfClass].sort((x, y) => y - x)[4]!, 6);
    }
  });

  it("stays small on a large split: a few mistakes, fixed bins, thinned curves", () => {
    const { rows, probabilities } = rowsAndProbabilities(
      30_000,
      (i) => (i % 2 === 0 ? 1 : 0),
      (i) => 0.34 + ((i * 7919) % 6000) / 10_000,
    );
    const a = ErrorAnalysis.parse(errorAnalysis(rows, probabilities));
    expect(a.testRows).toBe(30_000);
    expect(a.mistakes).toHaveLength(15);
    expect(a.calibration.bins).toHaveLength(10);
    expect(a.calibration.bins.reduce((s, b) => s + b.count, 0)).toBe(30_000);
    for (const pr of a.precisionRecall)
      expect(pr.points.length).toBeLessThanOrEqual(ANALYSIS_LIMITS.curvePoints);
    expect(JSON.stringify(a).length).toBeLessThan(40_000);
  });

  it("cuts review text short without splitting a character, and drops markup line breaks and direction overrides", () => {
    const long = `${"é".repeat(10)} ${"😀".repeat(400)}`;
    const cut = shorten(long, 21);
    expect(cut.cut).toBe(true);
    expect(cut.value).toBe(`${"é".repeat(10)} ${"😀".repeat(5)}…`);
    expect(shorten("fine<br />then <BR>broke\u202e\u0007 end", 100)).toEqual({
      value: "fine then broke end",
      cut: false,
    });
    // Markup other than line breaks stays as text: the report escapes it.
    expect(shorten("<script>alert(1)</script>", 100).value).toBe("<script>alert(1)</script>");
  });

  it("refuses probabilities that do not match the rows", () => {
    expect(() => errorAnalysis([{ id: "a", line: 1, title: "", text: "x", labelId: 0 }], [1, 0])).toThrow(
      /2 probabilities for 1 rows/,
    );
  });
});
