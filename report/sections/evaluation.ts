// Test-split results: the headline metrics, the classification report, the confusion matrix, attempts compared.
import { LABELS } from "../../schemas/names.ts";
import { confusionChart } from "../charts.ts";
import { badge, esc, int, num, section, table, tiles, type ChartRenderer } from "../html-kit.ts";
import type { ReportModel } from "../report-model.ts";
import { LABEL_COLORS } from "../render-svg.ts";

export async function evaluationSection(model: ReportModel, chart: ChartRenderer): Promise<string> {
  const e = model.evaluation;
  // A run that never evaluated (failed earlier, or still running) has no such section; the footer lists missing files.
  if (!e) return "";
  const m = e.report.metrics;
  const pass = m.weightedF1 >= model.f1Min;
  const figures = tiles(
    [
      {
        label: "Weighted F1",
        value: num(m.weightedF1),
        note: `gate ${num(model.f1Min, 2)}: ${pass ? "passed" : "failed"}`,
        tone: pass ? "good" : "bad",
      },
      { label: "Macro F1", value: num(m.macroF1), note: "every class counts the same", tone: "neutral" },
      { label: "Accuracy", value: num(m.accuracy), note: `${int(m.support)} test rows`, tone: "neutral" },
      { label: "Weighted precision", value: num(m.weightedPrecision), note: "", tone: "neutral" },
      { label: "Weighted recall", value: num(m.weightedRecall), note: "", tone: "neutral" },
    ],
    'data-figures="metrics"',
  );
  const rows = [
    ...LABELS.map((label) => ({ name: label, ...m.perClass[label], kind: "class" })),
    {
      name: "macro avg",
      precision: m.macroPrecision,
      recall: m.macroRecall,
      f1: m.macroF1,
      support: m.support,
      kind: "avg",
    },
    {
      name: "weighted avg",
      precision: m.weightedPrecision,
      recall: m.weightedRecall,
      f1: m.weightedF1,
      support: m.support,
      kind: "avg",
    },
  ];
  const bar = (x: number, color: string) =>
    `<span class="bar"><span style="width:${(x * 100).toFixed(1)}%;background:${color}"></span></span>`;
  const report = table(
    rows,
    [
      {
        head: "",
        cell: (r) =>
          r.kind === "class"
            ? `<span class="swatch" style="background:${LABEL_COLORS[r.name as keyof typeof LABEL_COLORS]}"></span>${esc(r.name)}`
            : `<span class="muted">${esc(r.name)}</span>`,
      },
      { head: "precision", cell: (r) => num(r.precision), numeric: true },
      { head: "recall", cell: (r) => num(r.recall), numeric: true },
      {
        head: "F1",
        cell: (r) => `${num(r.f1)} ${bar(r.f1, r.kind === "class" ? "#6366f1" : "#94a3b8")}`,
        numeric: true,
      },
      { head: "support", cell: (r) => int(r.support), numeric: true },
    ],
    'data-table="classification-report"',
  );
  const attempts =
    model.evaluations.length > 1
      ? `<h3>Every evaluation of this run</h3>${table(
          model.evaluations,
          [
            { head: "attempt", cell: (a) => `a${a.attempt}`, numeric: true },
            { head: "weighted F1", cell: (a) => num(a.weightedF1), numeric: true },
            {
              head: "biased slices",
              cell: (a) => (a.biased.length ? esc(a.biased.join(", ")) : badge("none", "good")),
            },
            { head: "what the pipeline did", cell: (a) => esc(a.decision) },
          ],
          'class="compact" data-table="evaluations"',
        )}`
      : "";
  const throughput = e.report.throughput
    ? ` Inference ran at ${int(Math.round(e.report.throughput.reviewsPerSecond))} reviews/s on ${esc(e.report.throughput.provider)}.`
    : "";
  return section(
    "evaluation",
    "Evaluation on the test split",
    `Evaluation attempt ${e.attempt} scored the model from <code>${esc(e.report.modelUri)}</code> on ${int(e.report.testRows)} held-out test rows.${throughput}`,
    `${figures}
<div class="two-col">
  <div><h3>Classification report</h3>${report}</div>
  <div><h3>Confusion matrix</h3>${await chart("confusion-matrix", confusionChart(m), "Rows are the true labels, columns the predictions; shading is the share of the true label.")}</div>
</div>
${attempts}`,
  );
}
