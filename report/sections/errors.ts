// Error analysis: where the model is wrong and how sure it was: confident mistakes, calibration, precision-recall,
// and each class's F1 in each slice. Left out when the run has no evaluation.
import { LABELS } from "../../schemas/names.ts";
import type { Mistake } from "../../schemas/error-analysis.ts";
import {
  precisionRecallChart,
  reliabilityChart,
  sliceClassF1Chart,
  type SliceClassCell,
} from "../charts-errors.ts";
import { badge, esc, int, num, pct, section, table, tiles, type ChartRenderer } from "../html-kit.ts";
import type { ReportModel } from "../report-model.ts";
import { LABEL_COLORS } from "../render-svg.ts";
import { largestFirst, MAX_CHARTED_VALUES } from "../charts.ts";

/** Calibration error that reads as well calibrated, and as badly: a few points either way of the usual ranges. */
const ECE_GOOD = 0.05;
const ECE_BAD = 0.15;

export async function errorsSection(model: ReportModel, chart: ChartRenderer): Promise<string> {
  const e = model.evaluation;
  if (!e) return "";
  const a = e.analysis;
  const parts: string[] = [];
  if (a) {
    const ece = a.calibration.ece;
    parts.push(
      tiles(
        [
          {
            label: "Expected calibration error",
            value: num(ece),
            note: `${a.calibration.bins.length} equal-width bins; worst bin ${num(a.calibration.mce)}`,
            tone: ece <= ECE_GOOD ? "good" : ece >= ECE_BAD ? "bad" : "warn",
          },
          ...a.precisionRecall.map((pr) => ({
            label: `Average precision ${pr.label}`,
            value: num(pr.averagePrecision),
            note: pr.positives ? `${int(pr.positives)} test rows of the class` : "no test row of the class",
            tone: "neutral" as const,
          })),
        ],
        'data-figures="error-analysis"',
      ),
    );
    parts.push(`<div class="two-col">
  <div><h3>Reliability diagram</h3>${await chart(
    "reliability",
    reliabilityChart(a.calibration.bins),
    "Bars: accuracy of the test rows whose confidence falls in each bin (row counts above); ticks: their mean confidence; dashed: perfect calibration. ECE is the row-weighted mean gap between the two (Guo et al., 2017).",
  )}</div>
  <div><h3>Precision-recall per class</h3>${await chart(
    "precision-recall",
    precisionRecallChart(a.precisionRecall),
    "Each class against the other two, scored by its predicted probability. Average precision as scikit-learn computes it.",
  )}</div>
</div>`);
    parts.push(mistakesTable(a.mistakes, a.mistakesPerClass));
  }
  const { cells, left } = sliceCells(model);
  if (cells.length > 0)
    parts.push(
      `<h3>F1 of each class per slice</h3>${await chart(
        "slice-class-f1",
        sliceClassF1Chart(cells),
        `Per-class F1 on the test rows of each slice value; grey where the slice holds no row of the class and none was predicted. A weighted F1 can hide a class that fails in one slice.${left > 0 ? ` The judged slices and the largest are shown; ${left} smaller ones are left out.` : ""}`,
      )}`,
    );
  if (parts.length === 0) return "";
  return section(
    "errors",
    "Error analysis",
    a
      ? `Where the model is wrong, and how much its confidence can be trusted, on the ${int(a.testRows)} test rows of evaluation attempt ${e.attempt}.`
      : `Per-class F1 per slice of evaluation attempt ${e.attempt}; this evaluation left no analysis.json (it predates it), so mistakes and calibration are not shown.`,
    parts.join("\n"),
  );
}

function mistakesTable(mistakes: Mistake[], perClass: number): string {
  if (mistakes.length === 0)
    return `<h3>Most confident mistakes</h3><p class="note tone-good">The model got every test row right.</p>`;
  const swatch = (l: string) =>
    `<span class="swatch" style="background:${LABEL_COLORS[l as keyof typeof LABEL_COLORS] ?? "#94a3b8"}"></span>${esc(l)}`;
  const groups = LABELS.map((label) => ({ label, rows: mistakes.filter((m) => m.label === label) })).filter(
    (g) => g.rows.length > 0,
  );
  return `<h3>Most confident mistakes</h3>
<p class="muted">Up to ${perClass} per true class, most confident first; review text cut short. The review is the uploader's text, shown as plain text.</p>
${groups
  .map(
    (g) =>
      `<h4>True ${esc(g.label)}</h4>${table(
        g.rows,
        [
          { head: "test line", cell: (m) => String(m.line), numeric: true },
          { head: "predicted", cell: (m) => swatch(m.predicted) },
          { head: "confidence", cell: (m) => pct(m.confidence), numeric: true },
          {
            head: "review",
            cell: (m) =>
              `${m.title ? `<strong>${esc(m.title)}</strong> ` : ""}<span class="review-text">${esc(m.text)}</span>${m.truncated ? ` ${badge("cut", "neutral")}` : ""}`,
          },
        ],
        `class="compact mistakes" data-table="mistakes-${esc(g.label)}"`,
      )}`,
  )
  .join("\n")}`;
}

/**
 * One heatmap cell per slice value and class, from the slice report's full metrics: the judged slices and the
 * largest, MAX_CHARTED_VALUES at most; `left` counts the others.
 */
function sliceCells(model: ReportModel): { cells: SliceClassCell[]; left: number } {
  const { shown, left } = largestFirst(
    model.evaluation?.slices?.slices ?? [],
    (s) => s.judged === true,
    (s) => s.support,
    MAX_CHARTED_VALUES,
  );
  const cells = shown.flatMap((s) =>
    LABELS.map((label) => {
      const m = s.metrics.perClass[label];
      const predicted = s.metrics.confusion.reduce((n, row) => n + (row[LABELS.indexOf(label)] ?? 0), 0);
      return {
        slice: `${s.column} = ${s.value}`,
        label,
        f1: m && (m.support > 0 || predicted > 0) ? m.f1 : null,
        support: m?.support ?? 0,
      };
    }),
  );
  return { cells, left: left.length };
}
