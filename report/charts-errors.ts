// The error analysis's charts as Vega-Lite specs: reliability diagram, precision-recall curves, class F1 by slice.
import type { TopLevelSpec } from "vega-lite";
import { LABELS } from "../schemas/names.ts";
import type { CalibrationBin, PrecisionRecallCurve } from "../schemas/error-analysis.ts";
import { LABEL_COLORS } from "./render-svg.ts";
import { rankedAxis } from "./charts.ts";

const LABEL_SCALE = { domain: [...LABELS], range: LABELS.map((l) => LABEL_COLORS[l]) };
const UNIT: { domain: number[]; nice: boolean } = { domain: [0, 1], nice: false };

/**
 * Accuracy of each confidence bin as a bar spanning the bin, the bin's mean confidence as a tick, and the diagonal a
 * calibrated model would follow. Empty bins draw nothing.
 */
export function reliabilityChart(bins: CalibrationBin[]): TopLevelSpec {
  const values = bins
    .filter((b) => b.count > 0)
    .map((b) => ({ ...b, mid: (b.low + b.high) / 2, bin: `${b.low.toFixed(1)}–${b.high.toFixed(1)}` }));
  const x = {
    field: "low",
    type: "quantitative",
    scale: UNIT,
    title: "confidence (max probability)",
  } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 320,
    height: 220,
    layer: [
      {
        data: { values },
        mark: { type: "rect", color: "#6366f1", opacity: 0.85 },
        encoding: {
          x,
          x2: { field: "high" },
          y: { field: "accuracy", type: "quantitative", scale: UNIT, title: "accuracy" },
          y2: { datum: 0 },
          tooltip: [
            { field: "bin", title: "bin" },
            { field: "count", title: "rows" },
            { field: "accuracy", format: ".3f" },
            { field: "confidence", format: ".3f", title: "mean confidence" },
          ],
        },
      },
      {
        data: { values },
        mark: { type: "tick", color: "#0f172a", thickness: 2, orient: "horizontal" },
        encoding: {
          x: { field: "mid", type: "quantitative", scale: UNIT },
          y: { field: "confidence", type: "quantitative", scale: UNIT },
        },
      },
      {
        data: { values },
        mark: { type: "text", dy: -6, fontSize: 10, color: "#475569" },
        encoding: {
          x: { field: "mid", type: "quantitative", scale: UNIT },
          y: { field: "accuracy", type: "quantitative", scale: UNIT },
          text: { field: "count", type: "quantitative", format: "," },
        },
      },
      {
        data: {
          values: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: "line", color: "#94a3b8", strokeDash: [4, 4] },
        encoding: {
          x: { field: "x", type: "quantitative", scale: UNIT },
          y: { field: "y", type: "quantitative", scale: UNIT },
        },
      },
    ],
  };
}

/** One precision-recall curve per class (one against the rest), drawn as scikit-learn's display draws it: in steps. */
export function precisionRecallChart(curves: PrecisionRecallCurve[]): TopLevelSpec {
  const values = curves.flatMap((c) => c.points.map((p, i) => ({ label: c.label, i, ...p })));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 320,
    height: 220,
    data: { values },
    mark: { type: "line", interpolate: "step-before", strokeWidth: 2 },
    encoding: {
      x: { field: "recall", type: "quantitative", scale: UNIT, title: "recall" },
      y: { field: "precision", type: "quantitative", scale: UNIT, title: "precision" },
      color: { field: "label", type: "nominal", scale: LABEL_SCALE, title: "class" },
      order: { field: "i", type: "quantitative" },
    },
  };
}

export interface SliceClassCell {
  /** `column = value`, one heatmap row. */
  slice: string;
  label: string;
  /** Null where the slice has no row of the class and predicted none: F1 is undefined there. */
  f1: number | null;
  support: number;
}

/** F1 of each class in each slice value as a heatmap, red (0) to green (1); an undefined cell stays grey. */
export function sliceClassF1Chart(cells: SliceClassCell[]): TopLevelSpec {
  // Rows keep the cells' order through a rank field (rankedAxis).
  const order = new Map([...new Set(cells.map((c) => c.slice))].map((s, i) => [s, i]));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: { step: 110 },
    height: { step: 20 },
    data: {
      values: cells.map((c) => ({
        ...c,
        rank: order.get(c.slice),
        shown: c.f1 === null ? "–" : c.f1.toFixed(2),
      })),
    },
    encoding: {
      x: {
        field: "label",
        type: "nominal",
        sort: [...LABELS],
        title: null,
        axis: { orient: "top", labelAngle: 0 },
      },
      // Wide enough for `main_category = Tools & Home Improvement`: at Vega's default 180 px, the real sample's
      // `Amazon Home`, `Amazon Devices` and `AMAZON FASHION` rows all read `main_category = Ama…`.
      y: rankedAxis("slice", null, 360),
    },
    layer: [
      {
        // Cells without an F1 are drawn (grey), not dropped as invalid values would be by default.
        mark: { type: "rect", invalid: null },
        encoding: {
          color: {
            field: "f1",
            type: "quantitative",
            scale: { domain: [0, 1], scheme: "redyellowgreen" },
            title: "F1",
            condition: { test: "datum.f1 === null", value: "#e2e8f0" },
          },
          tooltip: [
            { field: "slice" },
            { field: "label" },
            { field: "f1", format: ".3f" },
            { field: "support", title: "rows of the class" },
          ],
        },
      },
      {
        mark: { type: "text", fontSize: 11, color: "#0f172a" },
        encoding: { text: { field: "shown" } },
      },
    ],
  };
}
