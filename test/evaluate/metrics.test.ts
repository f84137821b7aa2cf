// The evaluation metrics and report against scikit-learn's answers for the same predictions.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Metrics } from "../../schemas/metrics.ts";
import { LABELS } from "../../schemas/names.ts";
import { classificationReport, pyFixed } from "../../gpu-jobs/evaluate/classification-report.ts";
import {
  confusionMatrix,
  metricsFromConfusion,
  metricsOf,
  weightedF1Flat,
} from "../../gpu-jobs/evaluate/metrics.ts";
import { REPO_ROOT, trainerPython } from "../inference/python-env.ts";

interface Case {
  name: string;
  yTrue: number[];
  yPred: number[];
  metrics: Metrics;
  report: string;
}
const expected = JSON.parse(
  readFileSync(join(REPO_ROOT, "test/fixtures/metrics/sklearn-expected.json"), "utf8"),
) as { cases: Case[] };

/** Every number of two Metrics within floating-point noise; counts exactly. */
function expectSameMetrics(actual: Metrics, wanted: Metrics): void {
  expect(Metrics.parse(actual)).toEqual(actual);
  const scalar = [
    "accuracy",
    "weightedPrecision",
    "weightedRecall",
    "weightedF1",
    "macroPrecision",
    "macroRecall",
    "macroF1",
  ] as const;
  for (const key of scalar) expect(actual[key], key).toBeCloseTo(wanted[key], 12);
  for (const label of LABELS) {
    const a = actual.perClass[label];
    const w = wanted.perClass[label];
    expect(a.precision, `${label} precision`).toBeCloseTo(w.precision, 12);
    expect(a.recall, `${label} recall`).toBeCloseTo(w.recall, 12);
    expect(a.f1, `${label} f1`).toBeCloseTo(w.f1, 12);
    expect(a.support, `${label} support`).toBe(w.support);
  }
  expect(actual.confusion).toEqual(wanted.confusion);
  expect(actual.support).toBe(wanted.support);
}

describe("metrics, cross-checked with scikit-learn", () => {
  it.each(expected.cases.map((c) => [c.name, c] as const))("gives scikit-learn's numbers for %s", (_, c) => {
    expectSameMetrics(metricsOf(c.yTrue, c.yPred, LABELS), c.metrics);
  });

  it.each(expected.cases.map((c) => [c.name, c] as const))(
    "prints scikit-learn's classification report for %s",
    (_, c) => {
      expect(classificationReport(metricsOf(c.yTrue, c.yPred, LABELS), LABELS)).toBe(c.report);
    },
  );

  it("keeps the committed scikit-learn answers current (reruns the script when the trainer venv is there)", (ctx) => {
    const python = trainerPython();
    if (python.path === null) return ctx.skip(python.skip);
    const out = execFileSync(
      python.path,
      [join(REPO_ROOT, "test/evaluate/py/sklearn_metrics_expected.py"), "--check"],
      { encoding: "utf8" },
    );
    expect(out).toContain("matches scikit-learn");
  });
});

describe("metrics", () => {
  it("counts a confusion matrix by true row and predicted column", () => {
    expect(confusionMatrix([0, 0, 1, 2, 2, 2], [0, 2, 1, 2, 2, 0], 3)).toEqual([
      [1, 0, 1],
      [0, 1, 0],
      [1, 0, 2],
    ]);
  });

  it("rejects a class outside the label set", () => {
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow(/out of range at row 1/);
  });

  it("computes the bootstrap's allocation-free weighted F1 exactly as the full metrics", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), {
          minLength: 1,
          maxLength: 80,
        }),
        (pairs) => {
          const m = confusionMatrix(
            pairs.map((p) => p[0]),
            pairs.map((p) => p[1]),
            3,
          );
          expect(weightedF1Flat(m.flat(), 3)).toBeCloseTo(metricsFromConfusion(m, LABELS).weightedF1, 12);
        },
      ),
    );
  });
});

describe("pyFixed", () => {
  it("rounds exact binary ties to even, as Python's format does", () => {
    expect(pyFixed(0.03125, 4)).toBe("0.0312");
    expect(pyFixed(0.125, 2)).toBe("0.12");
    expect(pyFixed(0.375, 2)).toBe("0.38");
    expect(pyFixed(2.5, 0)).toBe("2");
  });

  it("rounds non-ties to the nearest, as toFixed does", () => {
    expect(pyFixed(0.1, 4)).toBe("0.1000");
    expect(pyFixed(2 / 3, 4)).toBe("0.6667");
    expect(pyFixed(0.00005000001, 4)).toBe("0.0001");
    expect(pyFixed(1, 4)).toBe("1.0000");
  });
});
