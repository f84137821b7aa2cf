// The report's charts as Vega-Lite specs: pure functions of the run's numbers, rendered to SVG by render-svg.ts.
import type { TopLevelSpec } from "vega-lite";
import { LABELS } from "../schemas/names.ts";
import type { Metrics } from "../schemas/metrics.ts";
import { LABEL_COLORS } from "./render-svg.ts";

const LABEL_SCALE = { domain: [...LABELS], range: LABELS.map((l) => LABEL_COLORS[l]) };
const VERDICT_COLORS = { biased: "#dc2626", fair: "#2563eb", "not judged": "#94a3b8" } as const;

export interface SplitCounts {
  split: string;
  label: string;
  rows: number;
}

/** Each split's label mix as 100% bars, with the row counts in the segments and the split's size in its name. */
export function classDistributionChart(counts: SplitCounts[]): TopLevelSpec {
  const totals = new Map<string, number>();
  for (const c of counts) totals.set(c.split, (totals.get(c.split) ?? 0) + c.rows);
  const values = counts.map((c) => ({
    ...c,
    splitName: `${c.split} (${(totals.get(c.split) ?? 0).toLocaleString("en-US")})`,
    labelOrder: LABELS.indexOf(c.label as (typeof LABELS)[number]),
    share: (totals.get(c.split) ?? 0) > 0 ? c.rows / totals.get(c.split)! : 0,
  }));
  const order = ["train", "validation", "test"].flatMap((s) =>
    values.filter((v) => v.split === s).slice(0, 1),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 640,
    height: { step: 30 },
    data: { values },
    encoding: {
      y: { field: "splitName", type: "nominal", sort: order.map((v) => v.splitName), title: null },
      x: {
        field: "rows",
        type: "quantitative",
        stack: "normalize",
        title: "share of the split",
        axis: { format: ".0%" },
      },
      order: { field: "labelOrder", type: "quantitative" },
    },
    layer: [
      {
        mark: { type: "bar" },
        encoding: { color: { field: "label", type: "nominal", scale: LABEL_SCALE, title: "label" } },
      },
      {
        mark: { type: "text", color: "white", fontWeight: 600, align: "center" },
        transform: [{ filter: "datum.share >= 0.07" }],
        encoding: {
          x: { field: "rows", type: "quantitative", stack: "normalize", bandPosition: 0.5 },
          text: { field: "rows", type: "quantitative", format: "," },
        },
      },
    ],
  };
}

export interface SliceCount {
  value: string;
  rows: number;
  testShare: number;
  judged: boolean;
  /** The bar of the values a chart leaves out, pooled: drawn last. */
  pooled?: boolean;
}

/** Values a slice chart draws at most: beyond them a column (a thousand categories) is a wall, not a chart. */
export const MAX_CHARTED_VALUES = 60;

/**
 * The items a chart draws when there are more than `max`: every one `keep` marks, then the largest by `size`; the
 * others come back apart, for a pooled bar or a caption. The kept ones stay in their order.
 */
export function largestFirst<T>(
  items: T[],
  keep: (t: T) => boolean,
  size: (t: T) => number,
  max: number,
): { shown: T[]; left: T[] } {
  if (items.length <= max) return { shown: items, left: [] };
  const chosen = new Set(
    [...items].sort((a, b) => Number(keep(b)) - Number(keep(a)) || size(b) - size(a)).slice(0, max),
  );
  return { shown: items.filter((t) => chosen.has(t)), left: items.filter((t) => !chosen.has(t)) };
}

/**
 * A nominal axis in the order of the data's `rank` field. Not a sort list of the values: Vega turns one into a single
 * expression, which fails on a value named like an object method ("constructor") and overflows the stack at a
 * thousand values.
 */
export function rankedAxis(field: string, title: string | null, labelLimit: number) {
  return {
    field,
    type: "nominal" as const,
    sort: { field: "rank", order: "ascending" as const },
    title,
    axis: { labelLimit },
  };
}

/** The counts with their rank on the chart: by value for years, else most rows first (ties by value). */
function ranked(counts: SliceCount[], chronological: boolean): (SliceCount & { rank: number })[] {
  const order = [...counts].sort(
    (a, b) =>
      Number(a.pooled ?? false) - Number(b.pooled ?? false) ||
      (chronological ? a.value.localeCompare(b.value) : b.rows - a.rows || a.value.localeCompare(b.value)),
  );
  return order.map((c, rank) => ({ ...c, rank }));
}

/** Rows per value of one slice column; values below the judged share of the test split are greyed. */
export function sliceDistributionChart(
  column: string,
  counts: SliceCount[],
  chronological: boolean,
): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 300,
    height: { step: 16 },
    data: { values: ranked(counts, chronological) },
    encoding: {
      y: rankedAxis("value", column, 190),
      // Not stacked: Vega's stack groups bars in a plain object by value, and a value named "constructor" breaks it.
      x: { field: "rows", type: "quantitative", title: "rows (all splits)", stack: null },
    },
    layer: [
      {
        mark: { type: "bar", cornerRadius: 2 },
        encoding: {
          color: {
            field: "judgedLabel",
            type: "nominal",
            scale: { domain: ["judged", "too small to judge"], range: ["#6366f1", "#cbd5e1"] },
            title: "on the test split",
          },
        },
        transform: [{ calculate: "datum.judged ? 'judged' : 'too small to judge'", as: "judgedLabel" }],
      },
      {
        mark: { type: "text", align: "left", dx: 3, color: "#475569" },
        encoding: { text: { field: "rows", type: "quantitative", format: "," } },
      },
    ],
  };
}

export interface ReasonCount {
  reason: string;
  rows: number;
}

export function rejectedChart(reasons: ReasonCount[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 300,
    height: { step: 20 },
    data: { values: reasons },
    encoding: {
      y: {
        field: "reason",
        type: "nominal",
        sort: [...reasons].sort((a, b) => b.rows - a.rows).map((r) => r.reason),
        title: null,
      },
      x: { field: "rows", type: "quantitative", title: "rejected rows" },
    },
    layer: [
      { mark: { type: "bar", color: "#f97316", cornerRadius: 2 } },
      {
        mark: { type: "text", align: "left", dx: 3, color: "#475569" },
        encoding: { text: { field: "rows", type: "quantitative", format: "," } },
      },
    ],
  };
}

export interface TrialPoint {
  number: number;
  value: number | null;
  state: string;
  modelFamily: string;
  /** The model the family named in the run (bert-base-uncased, or minilm for every family with `--model minilm`). */
  model: string;
  round: string;
  bestSoFar: number | null;
}

/** One colour per model family, the same in every report. */
const FAMILY_COLORS: Record<string, string> = { bert: "#2563eb", roberta: "#db2777" };

/** Each trial's validation weighted F1 by trial number, and the best so far as a step line. */
export function tuningChart(trials: TrialPoint[]): TopLevelSpec {
  const scored = trials.filter((t) => t.value !== null);
  const numbers = scored.map((t) => t.number);
  const states = [...new Set(scored.map((t) => t.state))];
  // Only the models tried: a legend naming roberta beside bert-only trials reads as if roberta had been searched. Each
  // model keeps its family's colour.
  const models = [...new Set(scored.map((t) => t.model))].sort();
  const familyOf = new Map(scored.map((t) => [t.model, t.modelFamily]));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 640,
    height: 220,
    data: { values: scored },
    encoding: {
      x: {
        field: "number",
        type: "quantitative",
        title: "trial",
        scale: { domain: [Math.min(...numbers) - 0.5, Math.max(...numbers) + 0.5], nice: false },
        axis: numbers.length <= 25 ? { values: numbers, format: "d" } : { tickMinStep: 1, format: "d" },
      },
    },
    layer: [
      {
        mark: {
          type: "line",
          interpolate: "step-after",
          color: "#0f172a",
          strokeDash: [4, 3],
          strokeWidth: 1.5,
        },
        encoding: {
          y: {
            field: "bestSoFar",
            type: "quantitative",
            title: "validation weighted F1",
            scale: { domain: paddedDomain(scored.map((t) => t.value!)) },
            axis: { format: ".3f" },
          },
        },
      },
      {
        mark: { type: "point", filled: true, size: 90, opacity: 0.9 },
        encoding: {
          y: { field: "value", type: "quantitative" },
          color: {
            field: "model",
            type: "nominal",
            title: "model",
            scale: {
              domain: models,
              range: models.map((m) => FAMILY_COLORS[familyOf.get(m) ?? ""] ?? "#64748b"),
            },
          },
          shape: {
            field: "state",
            type: "nominal",
            title: "trial",
            scale: {
              domain: states,
              range: states.map((s) =>
                s === "PRUNED" ? "triangle-down" : s === "COMPLETE" ? "circle" : "cross",
              ),
            },
          },
        },
      },
    ],
  };
}

/** A y domain around the values with room above and below, so a flat line is not drawn on an axis edge. */
export function paddedDomain(values: number[]): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [0, 1];
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = Math.max((hi - lo) * 0.15, Math.abs(hi) * 0.01, 0.005);
  return [lo - pad, hi + pad];
}

export interface EpochPoint {
  attempt: string;
  epoch: number;
  weightedF1: number;
  trainLoss: number;
}

/** Whole epochs from the first to the last, every one up to 10 ticks, then every n-th so that about 10 remain. */
export function epochTicks(epochs: number[]): number[] {
  if (epochs.length === 0) return [];
  const lo = Math.min(...epochs);
  const hi = Math.max(...epochs);
  const step = Math.max(1, Math.ceil((hi - lo + 1) / 10));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e += step) ticks.push(e);
  return ticks;
}

/** Validation weighted F1 and training loss per epoch, one line per training attempt. */
export function trainingChart(points: EpochPoint[]): TopLevelSpec {
  const color = { field: "attempt", type: "nominal", title: "training attempt" } as const;
  const x = {
    field: "epoch",
    type: "quantitative",
    title: "epoch",
    // Explicit whole-number ticks: left to itself, Vega puts ticks at 1.5, 2.5, ... which "d" prints as "1 2 2 3 3".
    axis: { values: epochTicks(points.map((p) => p.epoch)), format: "d" },
  } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    data: { values: points },
    hconcat: [
      {
        width: 290,
        height: 180,
        mark: { type: "line", point: true },
        encoding: {
          x,
          y: {
            field: "weightedF1",
            type: "quantitative",
            title: "validation weighted F1",
            scale: { domain: paddedDomain(points.map((p) => p.weightedF1)) },
            axis: { format: ".3f" },
          },
          color,
        },
      },
      {
        width: 290,
        height: 180,
        mark: { type: "line", point: true },
        encoding: {
          x,
          y: {
            field: "trainLoss",
            type: "quantitative",
            title: "training loss",
            scale: { domain: paddedDomain(points.map((p) => p.trainLoss)) },
            axis: { format: ".3f" },
          },
          color,
        },
      },
    ],
  };
}

/** The confusion matrix: true label by row, predicted by column, shaded by the row's share (recall). */
export function confusionChart(metrics: Pick<Metrics, "confusion">): TopLevelSpec {
  const cells = LABELS.flatMap((truth, i) => {
    const row = metrics.confusion[i] ?? [];
    const total = row.reduce((a, b) => a + b, 0);
    return LABELS.map((predicted, j) => {
      const count = row[j] ?? 0;
      return { truth, predicted, count, share: total > 0 ? count / total : 0 };
    });
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 330,
    height: 330,
    data: { values: cells },
    encoding: {
      x: {
        field: "predicted",
        type: "nominal",
        sort: [...LABELS],
        title: "predicted",
        axis: { labelAngle: 0, orient: "top" },
      },
      y: { field: "truth", type: "nominal", sort: [...LABELS], title: "true label" },
    },
    layer: [
      {
        mark: { type: "rect", stroke: "white", strokeWidth: 2, cornerRadius: 3 },
        encoding: {
          color: {
            field: "share",
            type: "quantitative",
            title: "share of the row",
            scale: { domain: [0, 1], scheme: "blues" },
            legend: { format: ".0%", gradientLength: 200, titleLimit: 200 },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 15, fontWeight: 700, dy: -7 },
        encoding: {
          text: { field: "count", type: "quantitative", format: "," },
          color: { condition: { test: "datum.share > 0.55", value: "white" }, value: "#0f172a" },
        },
      },
      {
        mark: { type: "text", fontSize: 11, dy: 11 },
        encoding: {
          text: { field: "share", type: "quantitative", format: ".0%" },
          color: { condition: { test: "datum.share > 0.55", value: "#e0f2fe" }, value: "#475569" },
        },
      },
    ],
  };
}

export interface SlicePoint {
  value: string;
  f1: number;
  low: number | null;
  high: number | null;
  share: number;
  support: number;
  verdict: "biased" | "fair" | "not judged";
}

/**
 * F1 per value of one slice column with its bootstrap interval, against the bias line (sliceF1Ratio x overall F1)
 * and the overall F1.
 */
export function sliceF1Chart(
  column: string,
  points: SlicePoint[],
  overallF1: number,
  biasLine: number,
  chronological: boolean,
): TopLevelSpec {
  const rules = [
    { what: `bias line ${biasLine.toFixed(3)}`, x: biasLine, color: "#dc2626", dash: [5, 3], align: "right" },
    { what: `overall ${overallF1.toFixed(3)}`, x: overallF1, color: "#334155", dash: [2, 2], align: "left" },
  ];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: 560,
    height: { step: 22 },
    layer: [
      {
        data: { values: points },
        encoding: {
          y: {
            field: "value",
            type: "nominal",
            title: column,
            sort: chronological ? "ascending" : { field: "f1", order: "ascending" },
            axis: { labelLimit: 190 },
          },
        },
        layer: [
          {
            mark: { type: "rule", strokeWidth: 2.5, opacity: 0.45 },
            transform: [{ filter: "datum.low !== null" }],
            encoding: {
              x: {
                field: "low",
                type: "quantitative",
                title: "F1 with 95% bootstrap interval",
                scale: { domain: [0, 1] },
              },
              x2: { field: "high" },
              color: { field: "verdict", type: "nominal", scale: verdictScale() },
            },
          },
          {
            mark: { type: "point", filled: true, opacity: 1 },
            encoding: {
              x: { field: "f1", type: "quantitative" },
              size: {
                field: "share",
                type: "quantitative",
                title: "share of test rows",
                scale: { range: [30, 260] },
                legend: { format: ".0%" },
              },
              color: { field: "verdict", type: "nominal", title: "verdict", scale: verdictScale() },
            },
          },
        ],
      },
      {
        data: { values: rules },
        layer: [
          {
            mark: { type: "rule", strokeWidth: 1.5 },
            encoding: {
              x: { field: "x", type: "quantitative" },
              color: { field: "color", type: "nominal", scale: null },
              strokeDash: { field: "dash", type: "nominal", scale: null },
            },
          },
          // The bias line's label sits left of its line, the overall F1's right of its own: they never collide.
          ...(["right", "left"] as const).map((align) => ({
            transform: [{ filter: `datum.align === '${align}'` }],
            mark: {
              type: "text",
              y: -8,
              fontSize: 10,
              fontWeight: 600,
              align,
              dx: align === "right" ? -4 : 4,
            },
            encoding: {
              x: { field: "x", type: "quantitative" },
              text: { field: "what" },
              color: { field: "color", type: "nominal", scale: null },
            },
          })),
        ],
      },
    ],
  } as TopLevelSpec;
}

function verdictScale() {
  return {
    domain: Object.keys(VERDICT_COLORS),
    range: Object.values(VERDICT_COLORS),
  };
}

export interface ComparisonBar {
  metric: string;
  model: string;
  value: number;
}

/** This run's model beside the registered champion on the same test split. */
export function championChart(bars: ComparisonBar[], models: [string, string]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    width: { step: 70 },
    height: 200,
    data: { values: bars },
    encoding: {
      x: { field: "metric", type: "nominal", title: null, sort: null, axis: { labelAngle: 0 } },
      xOffset: { field: "model", type: "nominal", sort: models },
      y: { field: "value", type: "quantitative", title: "score", scale: { domain: [0, 1] } },
      color: {
        field: "model",
        type: "nominal",
        title: null,
        sort: models,
        scale: { domain: models, range: ["#4f46e5", "#94a3b8"] },
      },
    },
    layer: [
      { mark: { type: "bar", cornerRadiusTopLeft: 2, cornerRadiusTopRight: 2 } },
      {
        mark: { type: "text", dy: -6, fontSize: 9 },
        encoding: {
          text: { field: "value", type: "quantitative", format: ".3f" },
          color: { value: "#334155" },
        },
      },
    ],
  };
}
